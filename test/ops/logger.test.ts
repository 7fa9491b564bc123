import { expect } from "chai";
import { Writable } from "node:stream";
import { componentLogger, createLogger, InvalidLogLevelError, resolveLogLevel } from "../../node/ops/logger.js";

function capture(): { destination: Writable; lines: () => any[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { destination, lines: () => chunks.join("").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line)) };
}

describe("ops logger", () => {
  it("writes JSON lines with level names, ISO time, bindings and the component", () => {
    const { destination, lines } = capture();
    const root = createLogger({ level: "info", bindings: { node: "seq-1" }, destination });
    componentLogger(root, "consensus", { term: 4 }).info({ index: 10 }, "became leader");
    const [line] = lines();
    expect(line).to.include({ level: "info", node: "seq-1", component: "consensus", term: 4, index: 10, msg: "became leader" });
    expect(Date.parse(line.time)).to.not.be.NaN;
  });

  it("redacts key material at the top level and nested", () => {
    const { destination, lines } = capture();
    const log = createLogger({ level: "info", destination });
    log.info({ privateKey: "0xaa", secret: "s", signer: { privateKey: "0xbb", address: "0x01" }, config: { l1: { secret: "t" } } }, "loaded");
    componentLogger(log, "keys").info({ wallet: { mnemonic: "word word" } }, "child");
    const text = JSON.stringify(lines());
    for (const secret of ["0xaa", "0xbb", '"s"', '"t"', "word word"]) expect(text).to.not.contain(secret);
    const [first, second] = lines();
    expect(first.privateKey).to.equal("[redacted]");
    expect(first.signer).to.deep.equal({ privateKey: "[redacted]", address: "0x01" });
    expect(first.config.l1.secret).to.equal("[redacted]");
    expect(second.wallet.mnemonic).to.equal("[redacted]");
  });

  it("takes the level from config, then LOG_LEVEL, then info, and rejects unknown names", () => {
    expect(resolveLogLevel("warn", { LOG_LEVEL: "debug" })).to.equal("warn");
    expect(resolveLogLevel(undefined, { LOG_LEVEL: "DEBUG" })).to.equal("debug");
    expect(resolveLogLevel(undefined, {})).to.equal("info");
    expect(() => resolveLogLevel(undefined, { LOG_LEVEL: "verbose" })).to.throw(InvalidLogLevelError, 'invalid log level "verbose" from LOG_LEVEL');
    const { destination, lines } = capture();
    const log = createLogger({ env: { LOG_LEVEL: "warn" }, destination });
    log.info("dropped");
    log.warn("kept");
    expect(lines().map((line) => line.msg)).to.deep.equal(["kept"]);
  });
});
