/** Children and temp dirs of a process that dies without cleaning up (scripts/lib/processes.ts). */
import { expect } from "chai";
import { existsSync } from "node:fs";
import path from "node:path";
import { isAlive, makeTempDir, removeTempDir, runChild, signalGroup, spawnChild } from "../../scripts/lib/processes.js";
import { until } from "../node/helpers.js";

const SPAWNER = path.resolve(import.meta.dirname, "../fixtures/spawner.ts");


describe("child processes that cannot outlive their parent", function () {
  this.timeout(60_000);

  for (const signal of ["SIGKILL", "SIGTERM"] as const) {
    it(`kills a parent's children and removes its temp dirs when the parent dies of ${signal}`, async () => {
      const parent = spawnChild(process.execPath, ["--import", "tsx", SPAWNER], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      parent.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s));
      const [, pid, dir] = await until("the spawner to report its child", async () => /^child (\d+) dir (\S+)$/m.exec(out) ?? undefined);
      const childPid = Number(pid);
      expect(isAlive(childPid)).to.equal(true);
      expect(existsSync(dir!)).to.equal(true);

      signalGroup(parent, signal);
      await until("the child to be reaped", async () => (isAlive(childPid) ? undefined : true));
      await until("the temp dir to be removed", async () => (existsSync(dir!) ? undefined : true));
    });
  }

  it("runs a command to its end, and kills its group at the timeout", async () => {
    const ok = await runChild(process.execPath, ["-e", "console.log('out'); console.error('err'); process.exit(3)"]);
    expect(ok).to.include({ code: 3, stdout: "out\n", stderr: "err\n", timedOut: false });
    const slow = await runChild(process.execPath, ["-e", "setInterval(() => undefined, 1_000)"], { timeoutMs: 300 });
    expect(slow.timedOut).to.equal(true);
    expect(slow.signal).to.equal("SIGKILL");
  });

  it("removes a temp dir on request and forgets it", async () => {
    const dir = makeTempDir("seq-reaper-own-");
    expect(existsSync(dir)).to.equal(true);
    await removeTempDir(dir);
    expect(existsSync(dir)).to.equal(false);
  });
});
