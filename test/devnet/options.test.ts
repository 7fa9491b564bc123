/**
 * What `npm start` and a deployment refuse, and how they say it: options checked before anything
 * starts (child processes: one sentence on stderr, exit 2), and a deployment the contracts refuse
 * read back as the custom error's meaning, without the bytecode viem's message carries.
 */
import { expect } from "chai";
import path from "node:path";
import { network } from "hardhat";
import { loadDeployConfig, REGISTRY_LIMITS } from "../../scripts/lib/config.js";
import { deploySystem, DeploymentError } from "../../scripts/lib/deploy.js";
import { runChild } from "../../scripts/lib/processes.js";

const MAIN = path.resolve(import.meta.dirname, "../../scripts/main.ts");

async function npmStart(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runChild(process.execPath, ["--import", "tsx", MAIN, ...args], { cwd: path.resolve(import.meta.dirname, "../.."), timeoutMs: 60_000 });
}

describe("npm start options and deployment refusals", function () {
  this.timeout(120_000);

  // Each documented refusal: the options, and the one sentence it prints.
  const refusals: [string[], string][] = [
    [["--nodes", "2"], "--nodes must be an integer >= 3, got 2"],
    [["--tps", "fast"], '--tps "fast" must be a positive number'],
    [["--duration", "0"], '--duration "0" must be a positive number of seconds'],
    [["--epoch-length", "2"], "--epoch-length must be an integer >= 4, got 2"],
    [["--epoch-length", "100000"], "--epoch-length 100000 is too long: the unbonding period must cover 4 epochs (maxBatchEpochLag 2 + 2), 400000 blocks, over the registry's maximum of 330000; use --epoch-length 82500 or less"],
    [
      ["--epoch-length", "3600", "--unbonding-period", "80"],
      "--unbonding-period 80 is shorter than 4 epochs of 3600 blocks: the unbonding period must cover maxBatchEpochLag + 2 = 4 epochs (14400 blocks), so that stake cannot leave while its batch signatures are still accepted; use --unbonding-period 14400 or more, or a shorter --epoch-length",
    ],
    [["--unbonding-period", "400000"], "--unbonding-period 400000 is over the registry's maximum unbonding period of 330000 blocks"],
    [["--unbonding-period", "-5"], "npm start: option --unbonding-period needs a value"],
    [["--l1-rpc", "localhost:8545"], '--l1-rpc "localhost:8545" must be an http:// or ws:// URL of a chain with unlocked dev accounts'],
    [["--epochs", "3"], "npm start: unknown option --epochs"],
    [["--l1", "geth"], '--l1 "geth" must be one of hardhat, anvil'],
    [["--l1", "anvil", "--l1-rpc", "http://127.0.0.1:8545"], "--l1 anvil starts a chain of its own and --l1-rpc uses another: give one of them"],
  ];
  for (const [args, sentence] of refusals) {
    it(`refuses ${args.join(" ")} before starting anything: one sentence, exit 2`, async () => {
      const run = await npmStart(args);
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stdout).to.equal("");
      const lines = run.stderr.trimEnd().split("\n");
      expect(lines, run.stderr).to.have.length(1);
      expect(lines[0]).to.contain(sentence).and.match(/\(npm start -- --help lists the options\)$/);
    });
  }

  it("prints its usage for --help, naming --unbonding-period", async () => {
    const run = await npmStart(["--help"]);
    expect(run.code).to.equal(0);
    expect(run.stdout).to.contain("usage: npm start").and.contain("--unbonding-period N");
  });

  describe("on a chain", () => {
    it("a deployment the registry refuses says what its custom error means, with no bytecode", async () => {
      const connection = await network.create();
      try {
        const { config } = loadDeployConfig("default");
        const error = await deploySystem(connection, { ...config, epochLength: 3600n, unbondingPeriod: 80n }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(DeploymentError);
        const message = (error as Error).message;
        expect(message).to.equal(
          "deploying SequencerRegistry failed: the unbonding period of 80 blocks is outside the registry's bounds: it must cover at least the registry's minimum number of epochs (14400 blocks at this epoch length) and at most 330000 blocks (ParameterOutOfBounds); set unbondingPeriod (or epochLength) in the deployment config, or --unbonding-period (or --epoch-length) of npm start",
        );
      } finally {
        await connection.close();
      }
    });

    it("the registry's bounds the options are checked against are the deployed contract's", async () => {
      const connection = await network.create();
      try {
        const deployment = await deploySystem(connection, loadDeployConfig("default").config);
        expect(await deployment.registry.read.MAX_EPOCH_LENGTH()).to.equal(REGISTRY_LIMITS.maxEpochLength);
        expect(await deployment.registry.read.MAX_UNBONDING_PERIOD()).to.equal(REGISTRY_LIMITS.maxUnbondingPeriod);
      } finally {
        await connection.close();
      }
    });
  });
});
