/**
 * Submissions across a leader change (issue 18 part 1), on the SubmissionService alone with a
 * scripted core and network: what a leader held when it began a transfer or stepped down is
 * completed through the next leader within the deadline, a forward cut short by a leader change or
 * refused by a former leader follows the change, and only a deadline with the outcome unknown is
 * an error (retryable `timeout`).
 */
import { expect } from "chai";
import type { CommitmentService } from "../../node/app/commitments.js";
import { decodeSubmitRequest, encodeSubmitResponse } from "../../node/codec/index.js";
import type { OrderCommitmentProofJson } from "../../node/commitments/index.js";
import type { NodeId, ProposalOutcome } from "../../node/consensus/index.js";
import { createLogger } from "../../node/ops/logger.js";
import { SubmissionError } from "../../node/sequencer/errors.js";
import { SubmissionService } from "../../node/sequencer/submissions.js";
import { LoadSigner } from "../../scripts/bench/lib/presign.js";

const CHAIN_ID = 901;
const signer = new LoadSigner({ chainId: CHAIN_ID, senders: 5, txBytes: 150, seed: 18 });
const tick = () => new Promise((r) => setImmediate(r));

interface Script {
  leader: NodeId | null;
  isLeader: boolean;
  proposed: string[];
  forwarded: { to: NodeId; signal: AbortSignal; answer(ok: boolean, failure?: "no-leader"): void; fail(e: Error): void }[];
}

const certifiedAt = async (at: number) => ({ status: "certified", commitment: { position: `0x${at.toString(16)}`, txHash: "0xcommitted" } as unknown as OrderCommitmentProofJson });

function service(timeoutMs = 5_000, commitments = { commitmentAt: certifiedAt } as unknown as CommitmentService): { s: SubmissionService; script: Script } {
  const script: Script = { leader: "self", isLeader: true, proposed: [], forwarded: [] };
  const s = new SubmissionService({
    store: { getTxLocation: async () => undefined } as never,
    commitments,
    intake: { chainId: CHAIN_ID, maxBytes: 128 * 1024 },
    timeoutMs,
    logger: createLogger({ level: "silent" }),
    isLeader: () => script.isLeader,
    leader: () => script.leader,
    propose: ({ hash }) => void script.proposed.push(hash),
    forward: (to, payload, _timeoutMs, signal) =>
      new Promise<Uint8Array>((resolve, reject) => {
        decodeSubmitRequest(payload);
        script.forwarded.push({
          to,
          signal,
          answer: (ok, failure = "no-leader") =>
            resolve(ok ? encodeSubmitResponse({ ok: true, result: new TextEncoder().encode(JSON.stringify({ position: "0x7", txHash: "0xforwarded" })) }) : encodeSubmitResponse({ ok: false, failure, message: "not the leader" })),
          fail: reject,
        });
        signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
      }),
  });
  return { s, script };
}

/** A submission this leader has proposed (decoded on the way), and its answer to come. */
async function proposedOnLeader(s: SubmissionService, script: Script): Promise<{ answer: Promise<OrderCommitmentProofJson>; hash: string }> {
  const answer = s.submit(signer.sign(1)[0]!);
  for (let i = 0; i < 5 && script.proposed.length === 0; i++) await tick();
  return { answer, hash: script.proposed.at(-1)! };
}

const failed = (txHash: string, reason: "transferring" | "lost-leadership", leader: NodeId | null): ProposalOutcome => ({ txHash, status: "failed", reason, leader });

describe("submissions across leader changes", function () {
  it("a leader in a transfer holds the submission and forwards it to the new leader once it is known", async () => {
    const { s, script } = service();
    const { answer, hash } = await proposedOnLeader(s, script);
    s.outcomes([failed(hash, "transferring", "b")]);
    await tick();
    expect(script.forwarded, "nothing is forwarded before the new leader is known").to.have.length(0);
    script.isLeader = false;
    script.leader = null;
    s.leaderChanged(); // stepped down: no leader known yet
    await tick();
    expect(script.forwarded).to.have.length(0);
    script.leader = "b";
    s.leaderChanged();
    await tick();
    expect(script.forwarded.map((f) => f.to)).to.deep.equal(["b"]);
    script.forwarded[0]!.answer(true);
    expect((await answer).txHash).to.equal("0xforwarded");
  });

  it("a leader that stepped down (lost-leadership) re-forwards to the leader it now follows", async () => {
    const { s, script } = service();
    const { answer, hash } = await proposedOnLeader(s, script);
    script.isLeader = false;
    script.leader = "c";
    s.outcomes([failed(hash, "lost-leadership", "c")]);
    await tick();
    expect(script.forwarded.map((f) => f.to)).to.deep.equal(["c"]);
    script.forwarded[0]!.answer(true);
    expect((await answer).position).to.equal("0x7");
  });

  it("a transfer that is aborted proposes the held submission again on this leader", async () => {
    const { s, script } = service();
    const { answer, hash } = await proposedOnLeader(s, script);
    s.outcomes([failed(hash, "transferring", "b")]);
    await tick();
    s.leaderChanged(); // transferAborted: still the leader
    await tick();
    expect(script.proposed).to.deep.equal([hash, hash]);
    s.outcomes([{ txHash: hash, status: "committed", position: 3, index: 9, term: 2 }]);
    expect((await answer).position).to.equal("0x3");
  });

  it("a follower's forward cut short by a leader change, or refused by a former leader, follows the change", async () => {
    const { s, script } = service();
    script.isLeader = false;
    script.leader = "a";
    const answer = s.submit(signer.sign(1)[0]!);
    for (let i = 0; i < 5 && script.forwarded.length === 0; i++) await tick();
    script.leader = "b";
    s.leaderChanged();
    for (let i = 0; i < 5 && script.forwarded.length < 2; i++) await tick();
    expect(script.forwarded.map((f) => f.to)).to.deep.equal(["a", "b"]);
    expect(script.forwarded[0]!.signal.aborted).to.equal(true);
    script.forwarded[1]!.answer(false); // b is no longer the leader either
    await tick();
    script.leader = "c";
    s.leaderChanged();
    for (let i = 0; i < 5 && script.forwarded.length < 3; i++) await tick();
    expect(script.forwarded.map((f) => f.to)).to.deep.equal(["a", "b", "c"]);
    script.forwarded[2]!.answer(true);
    expect((await answer).txHash).to.equal("0xforwarded");
  });

  it("a transaction committed by a leader that lost its term before certifying is answered once the next leader's certificate applies", async () => {
    let certified = false;
    let wake: ((ok: boolean) => void) | undefined;
    const commitments = {
      commitmentAt: async (at: number) => (certified ? certifiedAt(at) : { status: "pending-certificate", position: at }),
      whenCertified: () => new Promise<boolean>((resolve) => (wake = resolve)),
    } as unknown as CommitmentService;
    const { s, script } = service(5_000, commitments);
    const { answer, hash } = await proposedOnLeader(s, script);
    script.isLeader = false;
    s.outcomes([{ txHash: hash, status: "committed", position: 4, index: 9, term: 2 }]);
    for (let i = 0; i < 5 && wake === undefined; i++) await tick();
    expect(wake, "the committed submission waits for its certificate").to.not.equal(undefined);
    certified = true;
    wake!(true);
    expect((await answer).position).to.equal("0x4");
  });

  it("answers a retryable timeout only when the deadline passes with no leader found", async () => {
    const { s, script } = service(300);
    script.isLeader = false;
    script.leader = null;
    const error = await s.submit(signer.sign(1)[0]!).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(SubmissionError);
    expect((error as SubmissionError).failure).to.equal("timeout");
  });
});
