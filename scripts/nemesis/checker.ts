/**
 * The nemesis checker: judges a history of client requests and answers together with the final
 * state (every node's log after heal and convergence, the stream rebuilt from L1) against what
 * the sequencer promises:
 *
 * - every acknowledged commitment verifies offline and was signed by a member of its epoch's set;
 * - it is at its position on every node and, once posted, in the batches on L1;
 * - no position holds two transactions (acknowledgements, any node, L1); no transaction holds two
 *   positions; every node's log is gap-free and all logs are equal after heal;
 * - every transaction in the log was submitted by a client and has a retrievable, valid
 *   commitment at its position (a transaction never ends up sequenced without one);
 * - a transaction refused as invalid (-32003) never commits; no node exits by itself; no honest
 *   operator is slashed.
 *
 * Availability is measured from the acknowledgements: the gaps between consecutive ones.
 */
import { isAddressEqual, type Address, type Hex } from "viem";
import { verifyOrderCommitment, type OrderCommitmentProofJson } from "../../node/commitments/index.js";
import { NO_LEADER, TX_REJECTED } from "../../node/rpc/errors.js";
import type { HistoryEvent, NemesisEvent, OkEvent } from "./history.js";

export type ViolationKind =
  | "invalid-commitment"
  | "signer-not-in-epoch"
  | "ack-mismatch"
  | "tx-two-positions"
  | "position-two-txs"
  | "log-gap"
  | "not-converged"
  | "lost-ack"
  | "l1-mismatch"
  | "batches-not-posted"
  | "phantom-tx"
  | "no-commitment"
  | "rejected-but-committed"
  | "node-crashed"
  | "honest-operator-slashed";

export type Violation = {
  readonly kind: ViolationKind;
  readonly message: string;
  readonly t?: number;
  readonly txHash?: string;
  readonly position?: number;
};

export type LogTx = { readonly position: number; readonly txHash: string };

export type CheckInput = {
  readonly history: readonly HistoryEvent[];
  /** Every node's committed log after heal and convergence, positions from 0. */
  readonly nodes: readonly { readonly name: string; readonly log: readonly LogTx[] }[];
  /** The ordered stream rebuilt from the batches accepted on L1 (positions from 0). */
  readonly l1: readonly LogTx[];
  /**
   * Commitments fetched from a node (`seq_getOrderCommitment`) for the logged transactions no
   * client saw acknowledged; null when the node had none.
   */
  readonly retrieved: ReadonlyMap<string, OrderCommitmentProofJson | null>;
  readonly chainId: number;
  readonly registry: Address;
  /** The signers of an epoch's active set, as the registry froze it. */
  readonly signersOfEpoch: (epoch: bigint) => Promise<readonly Address[]>;
  /** The faulted part of the run (ms since start) over which availability is measured. */
  readonly window: { readonly from: number; readonly to: number };
  /** The slashings L1 recorded during the run (every operator is honest: there must be none). */
  readonly slashings: readonly string[];
  /** Gaps between acknowledgements longer than this count as unavailability. */
  readonly unavailableAfterMs?: number;
};

export type UnavailableWindow = { readonly from: number; readonly to: number; readonly ms: number; readonly faults: readonly string[] };

export type CheckReport = {
  readonly violations: readonly Violation[];
  /** Facts worth knowing that break no promise (e.g. NO_LEADER answers whose transaction committed anyway). */
  readonly notes: readonly string[];
  readonly stats: {
    readonly submitted: number;
    readonly requests: number;
    readonly acknowledged: number;
    readonly failed: number;
    readonly timedOut: number;
    readonly committed: number;
    readonly onL1: number;
    readonly faults: number;
    readonly faultKinds: Readonly<Record<string, number>>;
    readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  };
  readonly availability: { readonly share: number; readonly unavailableMs: number; readonly windows: readonly UnavailableWindow[] };
};

const norm = (h: string) => h.toLowerCase();

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Checks the history and final state; never throws for a broken promise, it reports it. */
export async function checkHistory(input: CheckInput): Promise<CheckReport> {
  const violations: Violation[] = [];
  const notes: string[] = [];
  const v = (x: Violation) => violations.push(x);
  const { history } = input;
  const oks = history.filter((e): e is OkEvent => e.kind === "ok");
  const invokedTx = new Map<string, number>();
  for (const e of history) if (e.kind === "invoke" && !invokedTx.has(norm(e.txHash))) invokedTx.set(norm(e.txHash), e.t);

  // 1. Every acknowledged commitment verifies, names the transaction sent, and was signed by a member of its epoch.
  const signerSets = new Map<bigint, Promise<readonly Address[]>>();
  const signersOf = (epoch: bigint) => {
    let s = signerSets.get(epoch);
    if (s === undefined) signerSets.set(epoch, (s = input.signersOfEpoch(epoch)));
    return s;
  };
  const checkCommitment = async (c: OrderCommitmentProofJson, what: string, t?: number): Promise<boolean> => {
    let result;
    try {
      result = await verifyOrderCommitment(c, { chainId: input.chainId, registry: input.registry });
    } catch (error) {
      v({ kind: "invalid-commitment", message: `${what}: not an order commitment: ${(error as Error).message}`, txHash: c.txHash, ...(t === undefined ? {} : { t }) });
      return false;
    }
    if (!result.valid) {
      v({ kind: "invalid-commitment", message: `${what}: ${result.reasons.map((r) => r.message).join("; ")}`, txHash: c.txHash, ...(t === undefined ? {} : { t }) });
      return false;
    }
    const epoch = BigInt(c.certificate.epoch);
    const signers = await signersOf(epoch);
    if (!signers.some((s) => isAddressEqual(s, result.signer!))) {
      v({ kind: "signer-not-in-epoch", message: `${what}: signed by ${result.signer}, not a member of epoch ${epoch} (${signers.join(", ")})`, txHash: c.txHash, ...(t === undefined ? {} : { t }) });
      return false;
    }
    return true;
  };
  for (const ok of oks) {
    const c = ok.commitment;
    if (norm(c.txHash) !== norm(ok.txHash) || Number(BigInt(c.position)) !== ok.position) {
      v({ kind: "ack-mismatch", message: `op ${ok.op}: sent ${ok.txHash}, answered a commitment for ${c.txHash} at position ${BigInt(c.position)}`, t: ok.t, txHash: ok.txHash });
      continue;
    }
    await checkCommitment(c, `op ${ok.op} (${ok.txHash} at ${ok.position})`, ok.t);
  }

  // 2. Acknowledgements never contradict each other.
  const ackPosOfTx = new Map<string, OkEvent>();
  const ackTxAtPos = new Map<number, OkEvent>();
  for (const ok of oks) {
    const tx = norm(ok.txHash);
    const earlier = ackPosOfTx.get(tx);
    if (earlier !== undefined && earlier.position !== ok.position) {
      v({ kind: "tx-two-positions", message: `${tx} acknowledged at position ${earlier.position} (op ${earlier.op}) and at ${ok.position} (op ${ok.op})`, t: ok.t, txHash: tx, position: ok.position });
    }
    if (earlier === undefined) ackPosOfTx.set(tx, ok);
    const other = ackTxAtPos.get(ok.position);
    if (other !== undefined && norm(other.txHash) !== tx) {
      v({ kind: "position-two-txs", message: `position ${ok.position} acknowledged for ${other.txHash} (op ${other.op}) and for ${tx} (op ${ok.op})`, t: ok.t, txHash: tx, position: ok.position });
    }
    if (other === undefined) ackTxAtPos.set(ok.position, ok);
  }

  // 3. Each node's log is gap-free and holds each transaction once; all logs are the same.
  for (const { name, log } of input.nodes) {
    const seen = new Map<string, number>();
    for (let i = 0; i < log.length; i++) {
      const tx = log[i]!;
      if (tx.position !== i) {
        v({ kind: "log-gap", message: `${name}: entry ${i} of its log is at position ${tx.position}`, position: i });
        break;
      }
      const h = norm(tx.txHash);
      const at = seen.get(h);
      if (at !== undefined) v({ kind: "tx-two-positions", message: `${name}: ${h} at positions ${at} and ${i}`, txHash: h, position: i });
      else seen.set(h, i);
    }
  }
  const reference = input.nodes.reduce<(typeof input.nodes)[number] | undefined>((a, b) => (a === undefined || b.log.length > a.log.length ? b : a), undefined);
  const log = reference?.log ?? [];
  for (const { name, log: other } of input.nodes) {
    if (other.length !== log.length) {
      v({ kind: "not-converged", message: `${name} holds ${other.length} positions after heal, ${reference!.name} holds ${log.length}` });
    }
    const n = Math.min(other.length, log.length);
    for (let i = 0; i < n; i++) {
      if (norm(other[i]!.txHash) !== norm(log[i]!.txHash)) {
        v({ kind: "position-two-txs", message: `position ${i}: ${name} holds ${other[i]!.txHash}, ${reference!.name} holds ${log[i]!.txHash}`, position: i, txHash: other[i]!.txHash });
        break;
      }
    }
  }

  // 4. Every acknowledged transaction is at its position on every node.
  for (const ok of ackPosOfTx.values()) {
    for (const { name, log: l } of input.nodes) {
      const held = l[ok.position];
      if (held === undefined || norm(held.txHash) !== norm(ok.txHash)) {
        v({
          kind: "lost-ack",
          message: `${ok.txHash} was acknowledged at position ${ok.position} (op ${ok.op}) but ${name} holds ${held === undefined ? "nothing" : held.txHash} there`,
          t: ok.t,
          txHash: ok.txHash,
          position: ok.position,
        });
      }
    }
  }

  // 5. L1 carries the same stream; once everything is posted, all of it.
  for (let i = 0; i < input.l1.length; i++) {
    const l1 = input.l1[i]!;
    const held = log[i];
    if (l1.position !== i || held === undefined || norm(held.txHash) !== norm(l1.txHash)) {
      v({ kind: "l1-mismatch", message: `L1 has ${l1.txHash} at position ${l1.position}, the nodes hold ${held?.txHash ?? "nothing"}`, position: l1.position, txHash: l1.txHash });
      break;
    }
    const ack = ackTxAtPos.get(i);
    if (ack !== undefined && norm(ack.txHash) !== norm(l1.txHash)) {
      v({ kind: "l1-mismatch", message: `op ${ack.op} was promised position ${i} for ${ack.txHash}; the batch on L1 has ${l1.txHash}`, position: i, txHash: ack.txHash, t: ack.t });
    }
  }
  if (input.l1.length < log.length) {
    v({ kind: "batches-not-posted", message: `after heal L1 carries positions 0..${input.l1.length - 1}, the nodes hold ${log.length}: the batcher did not catch up` });
  }

  // 6. Nothing in the log that no client sent; every logged transaction has its commitment.
  for (const tx of log) {
    const h = norm(tx.txHash);
    if (!invokedTx.has(h)) v({ kind: "phantom-tx", message: `position ${tx.position} holds ${h}, which no client submitted`, position: tx.position, txHash: h });
    if (ackPosOfTx.has(h)) continue;
    const c = input.retrieved.get(h);
    if (c === undefined || c === null) {
      v({ kind: "no-commitment", message: `${h} is committed at position ${tx.position} but no commitment for it can be retrieved`, position: tx.position, txHash: h });
    } else if (Number(BigInt(c.position)) !== tx.position || norm(c.txHash) !== h) {
      v({ kind: "no-commitment", message: `the commitment retrieved for ${h} puts ${c.txHash} at ${BigInt(c.position)}, the log has it at ${tx.position}`, position: tx.position, txHash: h });
    } else {
      await checkCommitment(c, `retrieved commitment of ${h} at ${tx.position}`);
    }
  }

  // 7. Definite failures stay failures.
  const logged = new Set(log.map((t) => norm(t.txHash)));
  const answers = new Map<string, (number | null | "ok" | "timeout")[]>();
  for (const e of history) {
    if (e.kind !== "ok" && e.kind !== "fail" && e.kind !== "timeout") continue;
    const h = norm(e.txHash);
    if (!answers.has(h)) answers.set(h, []);
    answers.get(h)!.push(e.kind === "fail" ? e.code : e.kind);
    if (e.kind === "fail" && e.code === TX_REJECTED && logged.has(h)) {
      v({ kind: "rejected-but-committed", message: `op ${e.op}: ${e.txHash} was refused as invalid (${e.error}) yet it is in the log`, t: e.t, txHash: e.txHash });
    }
  }
  // Committed although every request for it was answered NO_LEADER: allowed (-32002 is not definite), reported so it stays visible.
  const noLeaderCommitted = [...answers].filter(([h, a]) => logged.has(h) && a.every((x) => x === NO_LEADER)).length;
  // 8. A node may be killed, never die of the faults by itself.
  for (const e of history) {
    if (e.kind === "crash") v({ kind: "node-crashed", message: `node-${e.node} exited on its own (${e.exit}); see ${e.logFile}`, t: e.t });
  }
  // 9. Faults are not misbehaviour: no watchtower may slash an honest operator for them.
  for (const s of input.slashings) v({ kind: "honest-operator-slashed", message: s });
  if (noLeaderCommitted > 0) {
    notes.push(`${noLeaderCommitted} transactions are committed although every request for them was answered NO_LEADER (-32002, "not known to be sequenced"): a leader that lost its term after appending them, whose successor committed them; as documented, a client reads -32002 as "maybe", and resubmission is what keeps it safe`);
  }

  // Figures.
  const faults = history.filter((e): e is NemesisEvent => e.kind === "nemesis" && e.phase === "start");
  const faultKinds: Record<string, number> = {};
  for (const f of faults) faultKinds[f.fault] = (faultKinds[f.fault] ?? 0) + 1;
  const latencies = oks.map((o) => o.latencyMs).sort((a, b) => a - b);
  return {
    violations,
    notes,
    stats: {
      submitted: invokedTx.size,
      requests: history.filter((e) => e.kind === "invoke").length,
      acknowledged: ackPosOfTx.size,
      failed: history.filter((e) => e.kind === "fail").length,
      timedOut: history.filter((e) => e.kind === "timeout").length,
      committed: log.length,
      onL1: input.l1.length,
      faults: faults.length,
      faultKinds,
      latencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1) ?? 0 },
    },
    availability: availability(history, input.window, input.unavailableAfterMs ?? 1_000),
  };
}

/**
 * Unavailability windows: the stretches of `window` longer than `thresholdMs` in which no
 * acknowledgement arrived (clients submit continuously, so a silent stretch means no commits),
 * with the faults in force during each; the share of the window outside them.
 */
export function availability(history: readonly HistoryEvent[], window: { from: number; to: number }, thresholdMs: number): CheckReport["availability"] {
  const acks = history.filter((e) => e.kind === "ok" && e.t >= window.from && e.t <= window.to).map((e) => e.t);
  const marks = [window.from, ...acks, window.to];
  const faults = history.filter((e): e is NemesisEvent => e.kind === "nemesis");
  const windows: UnavailableWindow[] = [];
  for (let i = 1; i < marks.length; i++) {
    const from = marks[i - 1]!;
    const to = marks[i]!;
    if (to - from <= thresholdMs) continue;
    const active = new Map<number, NemesisEvent>();
    for (const f of faults) {
      if (f.t > to) break;
      if (f.phase === "start") active.set(f.id, f);
      else if (f.t < from) active.delete(f.id);
    }
    windows.push({ from, to, ms: to - from, faults: [...active.values()].map((f) => `#${f.id} ${f.fault} (${f.detail})`) });
  }
  const unavailableMs = windows.reduce((s, w) => s + w.ms, 0);
  const span = Math.max(1, window.to - window.from);
  windows.sort((a, b) => b.ms - a.ms);
  return { share: 1 - unavailableMs / span, unavailableMs, windows };
}
