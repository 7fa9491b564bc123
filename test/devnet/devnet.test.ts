/**
 * `npm start` end to end: the devnet script as a child process (this process's Node + tsx), on
 * its own chain (in-process Hardhat, and Anvil with --l1 anvil) with --duration, and on an
 * external chain stopped with SIGINT.
 */
import { expect } from "chai";
import { existsSync } from "node:fs";
import path from "node:path";
import { startLocalChain, type LocalChain } from "../../scripts/lib/devnet.js";
import { isAlive, signalGroup, spawnChild } from "../../scripts/lib/processes.js";

const MAIN = path.resolve(import.meta.dirname, "../../scripts/main.ts");

type Run = { code: number | null; signal: NodeJS.Signals | null; output: string };

/** Runs the devnet; `onOutput` sees the output so far after every chunk and may signal the child. */
function runDevnet(args: string[], onOutput?: (output: string, kill: (s: NodeJS.Signals) => void) => void): Promise<Run> {
  const child = spawnChild(process.execPath, ["--import", "tsx", MAIN, ...args], { cwd: path.resolve(import.meta.dirname, "../.."), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const take = (chunk: Buffer) => {
    output += chunk.toString();
    onOutput?.(output, (s) => signalGroup(child, s));
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  return new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal, output })));
}

function pidsOf(output: string): number[] {
  return [...output.matchAll(/^node-\d+: pid (\d+),/gm)].map((m) => Number(m[1]));
}

function committedSeries(output: string): number[] {
  return [...output.matchAll(/\| committed (\d+) \|/g)].map((m) => Number(m[1]));
}


function dirOf(output: string): string {
  const m = /^devnet directory: (\S+)/m.exec(output);
  if (m === null) throw new Error(`no devnet directory in the output:\n${output}`);
  return m[1]!;
}

describe("devnet (npm start)", function () {
  this.timeout(150_000);

  for (const l1 of ["hardhat", "anvil"] as const) it(`runs for --duration on its own chain (--l1 ${l1}), commits a rising stream, matches L1, exits 0 and leaves nothing behind`, async () => {
    const run = await runDevnet(["--duration", "20", "--nodes", "3", "--tps", "15", "--l1", l1]);
    expect(run.code, run.output).to.equal(0);
    expect(run.output).to.match(l1 === "anvil" ? /^L1: Anvil \(pid (\d+)\) at http:\/\/127\.0\.0\.1:\d+/m : /^L1: in-process Hardhat chain at/m);
    const pids = pidsOf(run.output);
    expect(pids, run.output).to.have.length(3);
    const committed = committedSeries(run.output);
    expect(committed.length, run.output).to.be.greaterThan(10);
    expect(committed.at(-1)!, run.output).to.be.greaterThan(committed[0]!);
    expect(committed.every((c, i) => i === 0 || c >= committed[i - 1]!), "committed positions never go back").to.equal(true);
    // Batches landed on L1, and the stream rebuilt from them equals every node's log.
    const rebuilt = /rebuilt from L1: (\d+) batches, (\d+) transactions.*, (\d+) in blobs/.exec(run.output);
    expect(rebuilt, run.output).to.not.equal(null);
    expect(Number(rebuilt![1]), "batches posted").to.be.greaterThan(0);
    // The default data mode: blobs where the L1 takes them (Anvil), v1 calldata on the in-process chain.
    expect(Number(rebuilt![3]), "batches in blobs").to.equal(l1 === "anvil" ? Number(rebuilt![1]) : 0);
    expect(run.output.match(new RegExp(`all ${rebuilt![2]} positions equal the L1 stream`, "g")), run.output).to.have.length(3);
    expect(run.output).to.match(/epoch \d+ \| leader node-\d/);
    for (const pid of pids) expect(isAlive(pid), `node pid ${pid} still running`).to.equal(false);
    const anvil = /^L1: Anvil \(pid (\d+)\)/m.exec(run.output);
    if (anvil !== null) expect(isAlive(Number(anvil[1])), "anvil still running").to.equal(false);
    expect(existsSync(dirOf(run.output)), "temp dir removed").to.equal(false);
  });

  describe("on an external chain", () => {
    let chain: LocalChain;
    before(async () => {
      chain = await startLocalChain(0, { blockIntervalMs: 1_000 });
    });
    after(async () => {
      await chain?.close();
    });

    it("deploys there, prints a status page that answers, and SIGINT stops the traffic, every node and the run cleanly", async () => {
      let signalled = false;
      let page: { url: string; status: number; contentType: string | null; html: string } | undefined;
      const run = await runDevnet(["--l1-rpc", chain.url, "--nodes", "3", "--tps", "10"], (output, kill) => {
        // Three status lines with transactions committed: the devnet is up and sequencing.
        if (!signalled && committedSeries(output).filter((c) => c > 0).length >= 3) {
          signalled = true;
          const url = /^status page: (\S+)/m.exec(output)?.[1];
          if (url === undefined) return kill("SIGINT");
          void fetch(url)
            .then(async (r) => (page = { url, status: r.status, contentType: r.headers.get("content-type"), html: await r.text() }))
            .catch(() => undefined) // page stays undefined: the expectation below says so
            .finally(() => kill("SIGINT"));
        }
      });
      expect(signalled, run.output).to.equal(true);
      expect(page, `a status page line that answers:\n${run.output}`).to.not.equal(undefined);
      expect(page!.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/ui\/$/);
      expect(page!.status).to.equal(200);
      expect(page!.contentType).to.equal("text/html; charset=utf-8");
      expect(page!.html).to.contain('<script src="/ui/status.js"');
      expect(run.code, run.output).to.equal(0);
      expect(run.output).to.contain(`L1: ${chain.url}`).and.contain("SIGINT: stopping");
      const pids = pidsOf(run.output);
      expect(pids).to.have.length(3);
      for (const pid of pids) expect(isAlive(pid), `node pid ${pid} still running`).to.equal(false);
      expect(existsSync(dirOf(run.output))).to.equal(false);
      // The contracts went to the external chain: its registry has the three operators.
      const registry = /registry (0x[0-9a-fA-F]{40})/.exec(run.output)![1] as `0x${string}`;
      const r = await chain.connection.viem.getContractAt("SequencerRegistry", registry);
      const epoch = await r.read.currentEpoch();
      expect(await r.read.activeSet([epoch])).to.have.length(3);
    });
  });
});
