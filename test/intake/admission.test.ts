/** Admission budgets (node/intake/admission.ts): token buckets per key, refusing with the budget that ran out. */
import { expect } from "chai";
import { Admission } from "../../node/intake/admission.js";

/** A clock the test moves by hand. */
function manualClock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe("admission budgets", () => {
  it("admits a key's burst, then refuses saying which budget and when, then admits what the rate refilled", () => {
    const clock = manualClock();
    const senders = new Admission("sender", { txs: { perSecond: 10, burst: 3 } }, clock.now);
    for (let i = 0; i < 3; i++) expect(senders.admit("0xaa", 100)).to.equal(undefined);
    const refusal = senders.admit("0xaa", 100);
    expect(refusal).to.deep.equal({
      budget: "sender-txs",
      retryAfterMs: 100,
      message: "sender 0xaa is over its budget of 10 transactions per second (burst 3): retry in 100 ms",
    });
    expect(senders.admit("0xbb", 100), "another key has its own budget").to.equal(undefined);
    clock.advance(100);
    expect(senders.admit("0xaa", 100)).to.equal(undefined);
    expect(senders.admit("0xaa", 100)?.budget).to.equal("sender-txs");
  });

  it("counts bytes, takes nothing from a refused submission, and admits one larger than the burst from a full bucket", () => {
    const clock = manualClock();
    const clients = new Admission("client", { txs: { perSecond: 100, burst: 100 }, bytes: { perSecond: 1000, burst: 2000 } }, clock.now);
    expect(clients.admit("10.0.0.1", 1500)).to.equal(undefined);
    expect(clients.admit("10.0.0.1", 1000)).to.deep.include({ budget: "client-bytes", retryAfterMs: 500 });
    // The refusal took nothing: 500 bytes are still there.
    expect(clients.admit("10.0.0.1", 500)).to.equal(undefined);
    expect(clients.admit("10.0.0.1", 1)?.budget).to.equal("client-bytes");

    clock.advance(2000);
    expect(clients.admit("10.0.0.1", 5000), "full bucket").to.equal(undefined);
    // ...leaving it 3000 bytes in debt: 5 s until a 2000-byte burst is back.
    expect(clients.admit("10.0.0.1", 1)).to.deep.include({ budget: "client-bytes", retryAfterMs: 3001 });
    clock.advance(5000);
    expect(clients.admit("10.0.0.1", 2000)).to.equal(undefined);
  });

  it("forgets keys whose buckets have refilled, so many one-off keys hold no memory", () => {
    const clock = manualClock();
    const senders = new Admission("sender", { txs: { perSecond: 1, burst: 2 }, bytes: { perSecond: 1000, burst: 1000 } }, clock.now);
    for (let i = 0; i < 5000; i++) {
      expect(senders.admit(`0x${i.toString(16)}`, 100)).to.equal(undefined);
      clock.advance(1);
    }
    // Keys refill within a second here: only those of the last few seconds can still be held.
    expect(senders.tracked).to.be.at.most(2048);
  });

  it("refuses a budget without a positive rate", () => {
    expect(() => new Admission("sender", { txs: { perSecond: 0, burst: 1 } })).to.throw(RangeError, /sender txs budget needs a positive rate/);
  });
});
