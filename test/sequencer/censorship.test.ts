/**
 * Followers replace a censoring leader (docs/censorship.md), driven step by step without a
 * network: the strike rule over forwards and committed entries (a censor is struck; a stalled, slow
 * or refusing leader is not), the submission service telling the rule which answers are refusals,
 * the signed reports and their stake tally (forged, duplicate, stale and minority reports eject
 * nobody), and the service deposing the reported leader or handing leadership on.
 */
import { expect } from "chai";
import { bytesToHex, keccak256, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { CommitmentService } from "../../node/app/commitments.js";
import { encodeSubmitResponse, type SubmitFailure } from "../../node/codec/index.js";
import type { Entry, NodeId } from "../../node/consensus/index.js";
import { createLogger } from "../../node/ops/logger.js";
import { CensorshipWatch, type CommittedEntry } from "../../node/sequencer/censorship.js";
import { decodeReport, encodeReport, reportSignedByReporter, ReportTally, signReport, successorOf, type CensorshipReport, type StakedMember } from "../../node/sequencer/censorship-reports.js";
import { CensorshipService, type CensorshipRaft } from "../../node/sequencer/censorship-service.js";
import { CensorshipError, SubmissionError } from "../../node/sequencer/errors.js";
import { SubmissionService } from "../../node/sequencer/submissions.js";
import { LoadSigner } from "../../scripts/bench/lib/presign.js";

const RULE = { timeoutMs: 5_000, graceMs: 1_000, minProgressTxs: 1 };
const L = "0x00000000000000000000000000000000000000aa";
const raw = new Uint8Array([1]);
const entry = (index: number, term: number, ...txHashes: string[]): CommittedEntry => ({ index, term, txHashes });

describe("censorship: the strike rule", () => {
  it("a leader that commits later transactions but not the forwarded one is struck once, at the timeout and not before", () => {
    const w = new CensorshipWatch(RULE);
    w.forwarded("0xx", raw, L, 3, 0);
    expect(w.tick(500, 10, L, 3).strikes).to.deep.equal([]);
    expect(w.tick(1_000, 12, L, 3).strikes).to.deep.equal([]); // the horizon: index 12
    w.committed([entry(12, 3, "0xqueued-before"), entry(13, 3, "0xlater1", "0xlater2")]);
    expect(w.tick(4_999, 14, L, 3).strikes).to.deep.equal([]);
    const { strikes } = w.tick(5_000, 14, L, 3);
    expect(strikes.map((s) => [s.txHash, s.leader, s.term])).to.deep.equal([["0xx", L, 3]]);
    expect(w.tick(9_000, 20, L, 3).strikes, "one strike per watch").to.deep.equal([]);
    expect(w.status()).to.deep.equal({ watching: 1, strikes: 1 });
  });

  it("a stalled or slow leader that commits nothing past the horizon is never struck", () => {
    const w = new CensorshipWatch(RULE);
    w.forwarded("0xx", raw, L, 3, 0);
    w.tick(1_000, 12, L, 3);
    // Entries up to the horizon were appended before the leader could have taken the forward: FIFO intake commits them first.
    w.committed([entry(11, 3, "0xa"), entry(12, 3, "0xb", "0xc")]);
    expect(w.tick(60_000, 12, L, 3).strikes).to.deep.equal([]);
    // Entries without transactions (certificates, batch records) are no intake progress either.
    w.committed([entry(13, 3), entry(14, 3)]);
    expect(w.tick(120_000, 14, L, 3).strikes).to.deep.equal([]);
  });

  it("a leader under load that commits the transaction late, even after the timeout, is not struck", () => {
    const w = new CensorshipWatch(RULE);
    w.forwarded("0xx", raw, L, 3, 0);
    w.tick(1_000, 5, L, 3);
    w.committed([entry(6, 3, "0xx", "0xother")]); // committed together with later work: FIFO kept
    expect(w.tick(30_000, 9, L, 3).strikes).to.deep.equal([]);
    expect(w.status().watching).to.equal(0);
  });

  it("a leader that refuses the forward (overloaded, rejected, not the leader) is not struck, whatever it commits", () => {
    const w = new CensorshipWatch(RULE);
    w.forwarded("0xx", raw, L, 3, 0);
    w.tick(1_000, 5, L, 3);
    w.answered("0xx");
    w.committed([entry(6, 3, "0xa"), entry(7, 3, "0xb")]);
    expect(w.tick(10_000, 7, L, 3).strikes).to.deep.equal([]);
  });

  it("only progress of the same term counts, and a leader change hands the watched transaction back to be forwarded again", () => {
    const w = new CensorshipWatch(RULE);
    w.forwarded("0xx", raw, L, 3, 0);
    w.tick(1_000, 5, L, 3);
    w.committed([entry(6, 2, "0xold-term")]);
    expect(w.tick(6_000, 6, L, 3).strikes).to.deep.equal([]);
    const next = "0x00000000000000000000000000000000000000bb";
    const { strikes, moved } = w.tick(6_100, 6, next, 4);
    expect(strikes).to.deep.equal([]);
    expect(moved.map((m) => m.txHash)).to.deep.equal(["0xx"]);
    expect(w.status().watching).to.equal(0);
  });

  it("a rule whose grace is not below its timeout, or whose progress bound is not a positive integer, is refused", () => {
    expect(() => new CensorshipWatch({ ...RULE, graceMs: 5_000 })).to.throw(CensorshipError, /grace/);
    expect(() => new CensorshipWatch({ ...RULE, minProgressTxs: 0 })).to.throw(CensorshipError, /minProgressTxs/);
  });
});

describe("censorship: which forward answers close the watch", () => {
  const signer = new LoadSigner({ chainId: 901, senders: 3, txBytes: 150, seed: 15 });

  async function forwardAnswered(failure: SubmitFailure | "ok"): Promise<{ answered: string[]; forwarded: string[]; error: unknown }> {
    const seen = { answered: [] as string[], forwarded: [] as string[] };
    const s = new SubmissionService({
      store: { getTxLocation: async () => undefined } as never,
      commitments: {} as unknown as CommitmentService,
      intake: { chainId: 901, maxBytes: 128 * 1024 },
      timeoutMs: 200,
      logger: createLogger({ level: "silent" }),
      isLeader: () => false,
      leader: () => L,
      propose: () => undefined,
      forwards: { forwarded: (hash) => void seen.forwarded.push(hash), answered: (hash) => void seen.answered.push(hash) },
      forward: async () =>
        failure === "ok"
          ? encodeSubmitResponse({ ok: true, result: new TextEncoder().encode(JSON.stringify({ position: "0x7", txHash: "0xknown" })) })
          : encodeSubmitResponse({ ok: false, failure, message: failure }),
    });
    const error = await s.submit(signer.sign(1)[0]!).then(() => undefined, (e: unknown) => e);
    return { ...seen, error };
  }

  it("an overloaded leader's retryable refusal and a final rejection close the watch: no strike can follow", async () => {
    for (const failure of ["overloaded", "rejected"] as const) {
      const r = await forwardAnswered(failure);
      expect(r.error).to.be.instanceOf(SubmissionError).with.property("failure", failure);
      expect(r.forwarded).to.have.length(1);
      expect(r.answered, failure).to.deep.equal(r.forwarded);
    }
  });

  it("a commitment closes the watch (a transaction committed long before, which this node's apply will not show again)", async () => {
    const r = await forwardAnswered("ok");
    expect(r.error).to.equal(undefined);
    expect(r.answered).to.deep.equal(r.forwarded).and.to.have.length(1);
  });

  it("a leader that answers `timeout` took the transaction: the watch stays open", async () => {
    const r = await forwardAnswered("timeout");
    expect(r.error).to.be.instanceOf(SubmissionError).with.property("failure", "timeout");
    expect(r.forwarded).to.have.length(1);
    expect(r.answered).to.deep.equal([]);
  });
});

const domain = { chainId: 31337, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3" as const };
const keys = [0, 1, 2, 3].map(() => privateKeyToAccount(generatePrivateKey()));
const ids = ["0x0000000000000000000000000000000000000001", "0x0000000000000000000000000000000000000002", "0x0000000000000000000000000000000000000003", "0x0000000000000000000000000000000000000004"];
/** Stakes 40/25/20/15: a report from 1 (25) and 2 (20) is 45 of 100, adding 3 (15) makes 60. */
const members: StakedMember[] = ids.map((nodeId, i) => ({ nodeId, signer: keys[i]!.address, stake: [40n, 25n, 20n, 15n][i]! }));
const TX = `0x${"ab".repeat(32)}` as Hex;
const wire = (r: CensorshipReport, rawTx?: Hex) => encodeReport({ report: r, ...(rawTx === undefined ? {} : { rawTx }) });
const report = (i: number, over: Partial<Omit<CensorshipReport, "signature">> = {}) =>
  signReport(keys[i]!, domain, { epoch: 2, term: 7, leader: ids[0]!, txHash: TX, reporter: ids[i]!, ...over });

describe("censorship: signed reports and the stake tally", () => {
  it("a report verifies against its reporter's registered signer and survives the wire; a forged or altered one does not verify", async () => {
    const r = await report(1);
    const back = decodeReport(wire(r)).report;
    expect(back).to.deep.equal(r);
    expect(await reportSignedByReporter(domain, back, members)).to.equal(true);
    const forged = await signReport(keys[3]!, domain, { epoch: 2, term: 7, leader: ids[0]!, txHash: TX, reporter: ids[1]! });
    expect(await reportSignedByReporter(domain, forged, members), "signed by another member's key").to.equal(false);
    expect(await reportSignedByReporter(domain, { ...r, term: 8 }, members), "another term").to.equal(false);
    expect(await reportSignedByReporter({ ...domain, chainId: 1 }, r, members), "another deployment").to.equal(false);
    expect(await reportSignedByReporter(domain, { ...r, signature: "0x1234" }, members), "a malformed signature").to.equal(false);
  });

  it("malformed reports are refused with a clear error", async () => {
    const r1 = await report(1);
    expect(() => decodeReport(new TextEncoder().encode("nope"))).to.throw(CensorshipError, /JSON/);
    const bad = (v: object) => () => decodeReport(new TextEncoder().encode(JSON.stringify(v)));
    expect(bad({ epoch: -1, term: 1, leader: ids[0], reporter: ids[1], txHash: TX, signature: "0x00" })).to.throw(CensorshipError, /epoch and term/);
    expect(bad({ epoch: 1, term: 1, leader: ids[0], reporter: ids[1], txHash: "0x12", signature: "0x00" })).to.throw(CensorshipError, /txHash/);
    expect(() => decodeReport(wire(r1, "0x02")), "a raw transaction that is not the reported one").to.throw(CensorshipError, /rawTx/);
  });

  it("reports from a minority of the stake eject nobody; duplicates, self-reports and strangers add nothing; more than half ejects", async () => {
    const t = new ReportTally();
    expect(t.add(await report(1), members)).to.equal("counted");
    expect(t.add(await report(1, { txHash: `0x${"cd".repeat(32)}` as Hex }), members), "a second report by the same member").to.equal("duplicate");
    expect(t.add(await report(0, { reporter: ids[0]! }), members), "the leader itself").to.equal("self-report");
    expect(t.add({ ...(await report(1)), reporter: "0x00000000000000000000000000000000000000ff" }, members)).to.equal("not-a-member");
    expect(t.add(await report(2), members)).to.equal("counted");
    expect(t.against(ids[0]!, 7)).to.include({ stake: 45n, total: 100n, ejects: false });
    expect(t.add(await report(3), members)).to.equal("counted");
    expect(t.against(ids[0]!, 7)).to.include({ stake: 60n, ejects: true });
    expect(t.against(ids[0]!, 8), "another term").to.equal(undefined);
    expect(t.reports).to.equal(3);
  });

  it("exactly half of the stake is not more than half", async () => {
    const even = members.map((m) => ({ ...m, stake: 25n }));
    const t = new ReportTally();
    t.add(await report(1), even);
    t.add(await report(2), even);
    expect(t.against(ids[0]!, 7)).to.include({ stake: 50n, total: 100n, ejects: false });
  });

  it("once the cluster is past a term its reports are stale: dropped and refused", async () => {
    const t = new ReportTally();
    t.add(await report(1), members);
    t.advance(8);
    expect(t.against(ids[0]!, 7)).to.equal(undefined);
    expect(t.add(await report(2), members)).to.equal("stale");
  });

  it("the successor is the next in schedule after the leader, cyclically, past the ones skipped", () => {
    expect(successorOf(["a", "b", "c"], "b")).to.equal("c");
    expect(successorOf(["a", "b", "c"], "c")).to.equal("a");
    expect(successorOf(["a", "b", "c"], "a", new Set(["b"]))).to.equal("c");
    expect(successorOf(["a", "b", "c"], "z")).to.equal("a");
    expect(successorOf(["a"], "a")).to.equal(undefined);
  });
});

describe("censorship: the service ejects the reported leader", () => {
  class FakeRaft implements CensorshipRaft {
    role = "follower";
    term = 7;
    leader: NodeId | null = ids[0]!;
    lastIndex = 10;
    readonly deposed: [NodeId, number, boolean][] = [];
    readonly transfers: NodeId[] = [];
    status() {
      return { role: this.role, term: this.term, leader: this.leader, lastIndex: this.lastIndex };
    }
    depose(leader: NodeId, term: number, campaign: boolean) {
      this.deposed.push([leader, term, campaign]);
    }
    transferLeadership(to: NodeId) {
      this.transfers.push(to);
    }
  }

  function service(self: number, raft: FakeRaft, clock: { now: number }) {
    const sent: Uint8Array[] = [];
    const resubmitted: Uint8Array[] = [];
    const s = new CensorshipService({
      rule: RULE,
      selfId: ids[self]!,
      signer: keys[self]!,
      domain,
      raft,
      plan: () => ({ epoch: 2, voters: ids, schedule: [ids[0]!, ids[3]!, ids[1]!, ids[2]!] }),
      epochMembers: async (epoch) => {
        if (epoch !== 2) throw new Error("unknown epoch");
        return members;
      },
      broadcast: (payload) => void sent.push(payload),
      resubmit: async (r) => void resubmitted.push(r),
      logger: createLogger({ level: "silent" }),
      now: () => clock.now,
    });
    return { s, sent, resubmitted };
  }

  const committed = (index: number, term: number, ...hashes: string[]): Entry[] => [
    { index, term, type: "normal", firstPosition: 0, txs: hashes.map((hash) => ({ hash, data: raw })) } as unknown as Entry,
  ];

  it("a strike becomes a signed report to everyone; the majority's reports depose the leader and the successor campaigns", async () => {
    const clock = { now: 0 };
    const raft = new FakeRaft();
    const { s, sent } = service(3, raft, clock); // node 4 (15), second in the schedule: the successor
    s.forwarded(keccak256(raw), raw, ids[0]!);
    clock.now = 1_000;
    await s.tick();
    s.committed(committed(11, 7, "0xlater"));
    clock.now = 5_000;
    await s.tick();
    expect(sent).to.have.length(1);
    const message = decodeReport(sent[0]!);
    expect(message.report).to.include({ reporter: ids[3], leader: ids[0], term: 7, epoch: 2, txHash: keccak256(raw) });
    expect(message.rawTx, "the transaction travels with the report").to.equal("0x01");
    expect(s.status()).to.deep.include({ strikes: 1, reports: 1, lastEjection: null });
    expect(raft.deposed, "15 of 100 is a minority").to.deep.equal([]);
    // A forged report (node 3's key, claiming to be node 2) and a duplicate add nothing.
    const forged = await signReport(keys[2]!, domain, { epoch: 2, term: 7, leader: ids[0]!, txHash: TX, reporter: ids[1]! });
    await s.handleReport(wire(forged));
    await s.handleReport(sent[0]!);
    expect(s.status().reports).to.equal(1);
    await s.handleReport(wire(await report(2))); // 15 + 20
    expect(raft.deposed).to.deep.equal([]);
    await s.handleReport(wire(await report(1))); // + 25 = 60 of 100
    expect(raft.deposed).to.deep.equal([[ids[0], 7, true]]);
    expect(s.status().lastEjection).to.include({ leader: ids[0], term: 7, successor: ids[3] });
    expect(s.ejectedIn(2).has(ids[0]!)).to.equal(true);
    await s.handleReport(wire(await report(2, { txHash: `0x${"ef".repeat(32)}` as Hex })));
    expect(raft.deposed, "acted on once").to.have.length(1);
  });

  it("a member that is not the successor deposes without campaigning; the watched transaction goes to the new leader", async () => {
    const clock = { now: 0 };
    const raft = new FakeRaft();
    const { s, resubmitted } = service(1, raft, clock);
    s.forwarded(TX, raw, ids[0]!);
    for (const i of [2, 3]) await s.handleReport(wire(await report(i)));
    await s.handleReport(wire(await report(1))); // its own report, as if struck meanwhile
    expect(raft.deposed).to.deep.equal([[ids[0], 7, false]]);
    raft.term = 8;
    raft.leader = ids[3]!;
    await s.tick();
    expect(resubmitted).to.deep.equal([raw]);
    expect(s.status().againstLeader).to.equal(null);
  });

  it("a verified report's transaction is forwarded from here too, so this member judges the leader itself; a forged one's is not", async () => {
    const clock = { now: 0 };
    const raft = new FakeRaft();
    const { s, resubmitted } = service(2, raft, clock);
    const tx = new Uint8Array([7, 7]);
    const hash = keccak256(tx);
    const forged = await signReport(keys[3]!, domain, { epoch: 2, term: 7, leader: ids[0]!, txHash: hash, reporter: ids[1]! });
    await s.handleReport(wire(forged, bytesToHex(tx)));
    expect(resubmitted).to.deep.equal([]);
    await s.handleReport(wire(await report(1, { txHash: hash }), bytesToHex(tx)));
    expect(resubmitted).to.deep.equal([tx]);
  });

  it("a leader reported by the majority hands leadership to its successor itself", async () => {
    const raft = new FakeRaft();
    raft.role = "leader";
    const { s } = service(0, raft, { now: 0 });
    for (const i of [1, 2, 3]) await s.handleReport(wire(await report(i)));
    expect(raft.transfers).to.deep.equal([ids[3]]);
    expect(raft.deposed).to.deep.equal([]);
  });

  it("reports for an epoch this node cannot read, or about an older term, eject nobody", async () => {
    const raft = new FakeRaft();
    const { s } = service(3, raft, { now: 0 });
    for (const i of [1, 2]) await s.handleReport(wire(await report(i, { epoch: 5 })));
    raft.term = 9;
    for (const i of [1, 2]) await s.handleReport(wire(await report(i)));
    await s.tick();
    expect(raft.deposed).to.deep.equal([]);
    expect(s.status().reports).to.equal(0);
  });
});
