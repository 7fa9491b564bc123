/** The one error base: short message, details, cause, and a walk down the cause chain. */
import { expect } from "chai";
import { BaseError } from "../../node/errors/index.js";
import { RaftError } from "../../node/consensus/errors.js";
import { NodeStartError, SequencerError } from "../../node/sequencer/errors.js";
import { StorageClosedError, StorageError } from "../../node/storage/index.js";

describe("BaseError", () => {
  it("keeps the short message, appends details, and carries the cause", () => {
    const cause = new Error("disk full");
    const e = new BaseError("cannot persist the Ready", { cause, details: "fsync returned ENOSPC" });
    expect(e.shortMessage).to.equal("cannot persist the Ready");
    expect(e.details).to.equal("fsync returned ENOSPC");
    expect(e.message).to.equal("cannot persist the Ready\n\nDetails: fsync returned ENOSPC");
    expect(e.cause).to.equal(cause);
    expect(new BaseError("plain").message).to.equal("plain");
  });

  it("walks the cause chain to the first match, or to the deepest error", () => {
    const root = new TypeError("bad bytes");
    const middle = new RaftError("invalid persisted state", { cause: root });
    const top = new NodeStartError("the node cannot start", { cause: middle });
    expect(top.walk((e) => e instanceof RaftError)).to.equal(middle);
    expect(top.walk()).to.equal(root);
    expect(top.walk((e) => e instanceof RangeError)).to.equal(undefined);
  });

  it("gives each layer one root that its errors share", () => {
    expect(new NodeStartError("x")).to.be.instanceOf(SequencerError).and.instanceOf(BaseError);
    expect(new StorageClosedError()).to.be.instanceOf(StorageError).and.instanceOf(BaseError);
  });
});
