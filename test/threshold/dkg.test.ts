/** The DKG driven message by message: honest runs, cheating and silent dealers, false complaints, bad input, the codec. */
import { expect } from "chai";
import {
  DkgFailedError,
  DkgMember,
  DkgMessageError,
  type DkgMessage,
  G1,
  MalformedThresholdDataError,
  type DkgResult,
  decodeDkgMessage,
  dkgSession,
  encodeDkgMessage,
  judgeTranscript,
  planStakeUnits,
  shareMatchesCommitments,
} from "../../node/threshold/index.js";
import { runDkg, seededRandom } from "./helpers.js";

const ok = (r: DkgResult | Error): DkgResult => {
  if (r instanceof Error) throw r;
  return r;
};

describe("threshold: distributed key generation", () => {
  it("gives every member the same epoch key and public shares, and each its own secret shares (weighted: 4 members, 3:1:1:2 stake)", () => {
    const plan = planStakeUnits([3n, 1n, 1n, 2n]);
    const { results } = runDkg(plan, "honest");
    const first = ok(results[0]!);
    expect(first.qualified).to.deep.equal([0, 1, 2, 3]);
    for (const r of results.map(ok)) {
      expect(r.publicKey.equals(first.publicKey)).to.equal(true);
      expect(r.publicShares.every((y, k) => y.equals(first.publicShares[k]!))).to.equal(true);
    }
    // each member's secret shares match the public shares at its indices (finish() checks; here the counts)
    results.map(ok).forEach((r, i) => expect(r.secretShares.length).to.equal(plan.units[i]));
  });

  it("excludes a cheating dealer that gives a member a wrong share and cannot justify it; the result stays consistent", () => {
    const plan = planStakeUnits([1n, 1n, 1n, 1n, 1n]);
    const { results, members } = runDkg(plan, "cheat", {
      tamperShares: (m) => (m.dealer === 2 && m.recipient === 0 ? { ...m, values: m.values.map((v) => v + 1n) } : m),
      mute: [2], // a cheater who also refuses to answer
    });
    for (const r of results.map(ok)) {
      expect(r.qualified).to.deep.equal([0, 1, 3, 4]);
      expect(r.excluded).to.deep.equal([{ dealer: 2, reason: "unanswered complaint", complainers: [0] }]);
      expect(r.publicKey.equals(ok(results[0]!).publicKey)).to.equal(true);
    }
    // the proof a third party checks: the public transcript alone excludes the dealer
    expect(judgeTranscript(plan, members[4]!.transcript()).excluded.map((e) => e.dealer)).to.deep.equal([2]);
  });

  it("excludes a dealer whose justification its own commitments refute", () => {
    const plan = planStakeUnits([1n, 1n, 1n]);
    const session = dkgSession(new TextEncoder().encode("refuted"), plan);
    const members = plan.units.map((_, i) => new DkgMember(session, plan, i));
    const deals = members.map((m) => m.deal(seededRandom(`refuted/${m.self}`)));
    for (const [d, { deal, shares }] of deals.entries()) {
      for (const m of members) m.step(deal, d);
      // dealer 1 sends member 2 nothing at all
      for (const s of shares) if (!(d === 1 && s.recipient === 2)) members[s.recipient]!.step(s, d);
    }
    const complaints = members.flatMap((m) => m.endDealing().map((c) => [m.self, c] as const));
    expect(complaints.map(([, c]) => [c.complainer, c.dealer])).to.deep.equal([[2, 1]]);
    for (const [from, c] of complaints) for (const m of members) m.step(c, from);
    const justifications = members.flatMap((m) => m.endComplaints().map((j) => [m.self, j] as const));
    // dealer 1 publishes a wrong value instead of the right one
    for (const [from, j] of justifications) {
      const forged = { ...j, values: j.values.map((v) => v + 1n) };
      for (const m of members) m.step(forged, from);
    }
    expect(members[0]!.finish().excluded).to.deep.equal([{ dealer: 1, reason: "unanswered complaint", complainers: [2] }]);
  });

  it("keeps a dealer who sent a wrong share but publishes the right one: the complainer uses it", () => {
    const plan = planStakeUnits([1n, 1n, 1n]);
    const { results } = runDkg(plan, "corrected", {
      tamperShares: (m) => (m.dealer === 0 && m.recipient === 1 ? { ...m, values: m.values.map((v) => v + 5n) } : m),
    });
    for (const r of results.map(ok)) expect(r.qualified).to.deep.equal([0, 1, 2]);
    // finish() verified member 1's secret shares against the public shares, so the justified value was used
    expect(ok(results[1]!).secretShares.length).to.equal(1);
  });

  it("does not exclude an honest dealer on a false complaint", () => {
    const plan = planStakeUnits([1n, 1n, 1n, 1n]);
    const { results } = runDkg(plan, "false", { falseComplaints: [[3, 0], [2, 1]] });
    for (const r of results.map(ok)) {
      expect(r.qualified).to.deep.equal([0, 1, 2, 3]);
      expect(r.excluded).to.deep.equal([]);
    }
  });

  it("leaves out a member that never deals, and fails when the dealers hold at most half of the stake", () => {
    const plan = planStakeUnits([1n, 1n, 1n, 1n, 1n]);
    const partial = runDkg(plan, "silent", { silent: [4] });
    for (const r of partial.results.map(ok)) expect(r.excluded).to.deep.equal([{ dealer: 4, reason: "no deal", complainers: [] }]);

    const weighted = planStakeUnits([3n, 1n, 1n, 1n]);
    const failed = runDkg(weighted, "minority", { silent: [0] }); // the three dealers hold 3 of 6
    for (const r of failed.results) expect(r).to.be.instanceOf(DkgFailedError);
  });

  it("refuses out-of-phase, foreign, misattributed and conflicting messages, changing nothing", () => {
    const plan = planStakeUnits([1n, 1n, 1n]);
    const session = dkgSession(new TextEncoder().encode("strict"), plan);
    const [a, b] = [new DkgMember(session, plan, 0), new DkgMember(session, plan, 1)];
    const { deal, shares } = a.deal(seededRandom("strict/0"));
    const other = new DkgMember(dkgSession(new TextEncoder().encode("another"), plan), plan, 0).deal(seededRandom("x")).deal;
    expect(() => b.step(other, 0)).to.throw(DkgMessageError, /another DKG session/);
    expect(() => b.step(deal, 2)).to.throw(DkgMessageError, /authored by member 0/);
    expect(() => b.step({ ...deal, commitments: deal.commitments.slice(1) }, 0)).to.throw(DkgMessageError, /threshold/);
    expect(() => b.step(shares.find((s) => s.recipient === 2)!, 0)).to.throw(DkgMessageError, /delivered to member 1/);
    b.step(deal, 0);
    b.step(deal, 0); // an exact repeat is ignored
    expect(() => b.step({ ...deal, commitments: [...deal.commitments].reverse() }, 0)).to.throw(DkgMessageError, /second, different deal/);
    expect(() => b.step({ kind: "justification", session, dealer: 0, complainer: 1, values: [1n] }, 0)).to.throw(DkgMessageError, /justifying phase/);
    expect(() => b.step({ kind: "complaint", session, complainer: 1, dealer: 1 }, 1)).to.throw(DkgMessageError, /itself/);
    expect(() => b.step({ kind: "complaint", session, complainer: 9, dealer: 0 }, 9)).to.throw(DkgMessageError, /not a member/);
    expect(b.transcript().deals.length).to.equal(1);
    expect(b.transcript().complaints.length).to.equal(0);
    expect(() => a.deal(seededRandom("again"))).to.throw(DkgMessageError, /dealt already/);
    b.endDealing();
    expect(() => b.step(deal, 0)).to.not.throw(); // still the same deal
    expect(() => b.endDealing()).to.throw(DkgMessageError, /dealing phase/);
  });

  it("deals polynomials of degree threshold - 1 whose shares match the commitments", () => {
    const plan = planStakeUnits([2n, 1n, 1n, 1n]);
    const session = dkgSession(new Uint8Array(0), plan);
    const { deal, shares } = new DkgMember(session, plan, 0).deal(seededRandom("degree"));
    expect(deal.commitments.length).to.equal(plan.threshold);
    for (const s of shares) s.values.forEach((v, k) => expect(shareMatchesCommitments(deal.commitments, plan.firstIndex[s.recipient]! + k, v)).to.equal(true));
    expect(shareMatchesCommitments(deal.commitments, 1, 12345n)).to.equal(false);
  });

  describe("message codec", () => {
    const plan = planStakeUnits([1n, 1n, 1n]);
    const session = dkgSession(new TextEncoder().encode("codec"), plan);
    const { deal, shares } = new DkgMember(session, plan, 1).deal(seededRandom("codec"));
    const messages: DkgMessage[] = [
      deal,
      shares[0]!,
      { kind: "complaint", session, complainer: 2, dealer: 1 },
      { kind: "justification", session, dealer: 1, complainer: 2, values: shares[1]!.values },
    ];

    it("round-trips every message kind", () => {
      for (const m of messages) {
        const decoded = decodeDkgMessage(encodeDkgMessage(m));
        expect(encodeDkgMessage(decoded)).to.deep.equal(encodeDkgMessage(m));
        expect(decoded.kind).to.equal(m.kind);
      }
      const d = decodeDkgMessage(encodeDkgMessage(deal));
      expect(d.kind === "deal" && d.commitments.every((c, k) => c.equals(deal.commitments[k]!))).to.equal(true);
    });

    it("rejects malformed input: truncation, trailing bytes, unknown kinds, bad points, scalars not below r, hostile counts", () => {
      for (const m of messages) {
        const bytes = encodeDkgMessage(m);
        for (let cut = 0; cut < bytes.length; cut += Math.max(1, Math.floor(bytes.length / 17))) {
          expect(() => decodeDkgMessage(bytes.subarray(0, cut)), `${m.kind} cut at ${cut}`).to.throw(MalformedThresholdDataError);
        }
        expect(() => decodeDkgMessage(Uint8Array.from([...bytes, 0]))).to.throw(MalformedThresholdDataError);
      }
      const dealBytes = encodeDkgMessage(deal);
      expect(() => decodeDkgMessage(Uint8Array.from([9, ...dealBytes.subarray(1)]))).to.throw(MalformedThresholdDataError, /unknown DKG message kind/);
      const notOnCurve = dealBytes.slice();
      notOnCurve.fill(0xff, 35, 35 + 47); // the first commitment's x coordinate
      expect(() => decodeDkgMessage(notOnCurve)).to.throw(MalformedThresholdDataError, /commitment 0/);
      const sharesBytes = encodeDkgMessage(shares[0]!);
      const big = sharesBytes.slice();
      big.fill(0xff, big.length - 32);
      expect(() => decodeDkgMessage(big)).to.throw(MalformedThresholdDataError, /below the group order/);
      const hostile = Uint8Array.from([2, ...session, 1, 0, 0xff, 0x03]); // 511 values announced, none present
      expect(() => decodeDkgMessage(hostile)).to.throw(MalformedThresholdDataError, /cannot fit/);
      expect(() => decodeDkgMessage(Uint8Array.from([3, ...session, 0x80, 0x02, 0]))).to.throw(MalformedThresholdDataError, /out of range/);
      expect(G1.BASE.is0()).to.equal(false);
    });
  });
});
