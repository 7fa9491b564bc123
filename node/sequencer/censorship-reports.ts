/**
 * Censorship reports (docs/censorship.md): a member that struck the leader signs, with its
 * registered signer key, an EIP-191 message over a domain-separated digest of (chain id, registry,
 * epoch, term, leader, transaction hash) and sends it to every member peer to peer (the reported
 * leader may refuse to append anything to the log). The tally is pure: one report per reporter and
 * (epoch, term, leader), counted by the reporter's stake in that epoch; more than half of the
 * epoch's stake against the leader of the current term ejects it.
 */
import { encodeAbiParameters, isAddress, isAddressEqual, isHex, keccak256, recoverMessageAddress, type Address, type Hex } from "viem";
import type { NodeId } from "../consensus/index.js";
import type { Signer } from "../keys/index.js";
import { CensorshipError } from "./errors.js";

/** Separates these signatures from every other message a member's signer signs. */
export const CENSORSHIP_REPORT_TAG = "seq.censorship-report.v1";

export interface ReportDomain {
  readonly chainId: number;
  readonly registry: Address;
}

export interface CensorshipReport {
  readonly epoch: number;
  readonly term: number;
  /** The reported leader's node id (its lower-case operator address). */
  readonly leader: NodeId;
  readonly txHash: Hex;
  /** The reporting member's node id. */
  readonly reporter: NodeId;
  readonly signature: Hex;
}

/** A member of an epoch as the tally needs it. */
export interface StakedMember {
  readonly nodeId: NodeId;
  readonly signer: Address;
  readonly stake: bigint;
}

/** The digest a report's signature covers (signed as an EIP-191 message of these 32 bytes). */
export function reportDigest(d: ReportDomain, r: Omit<CensorshipReport, "reporter" | "signature">): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "string" }, { type: "uint256" }, { type: "address" }, { type: "uint256" }, { type: "uint256" }, { type: "address" }, { type: "bytes32" }],
      [CENSORSHIP_REPORT_TAG, BigInt(d.chainId), d.registry, BigInt(r.epoch), BigInt(r.term), r.leader as Address, r.txHash],
    ),
  );
}

export async function signReport(signer: Signer, d: ReportDomain, r: Omit<CensorshipReport, "signature">): Promise<CensorshipReport> {
  const signature = await signer.signMessage({ message: { raw: reportDigest(d, r) } });
  return { ...r, signature };
}

/** Whether the report is signed by its reporter's registered signer in `members` (the report's epoch). */
export async function reportSignedByReporter(d: ReportDomain, r: CensorshipReport, members: readonly StakedMember[]): Promise<boolean> {
  const reporter = members.find((m) => m.nodeId === r.reporter);
  if (reporter === undefined) return false;
  try {
    return isAddressEqual(await recoverMessageAddress({ message: { raw: reportDigest(d, r) }, signature: r.signature }), reporter.signer);
  } catch {
    return false; // a malformed signature
  }
}

/**
 * A report on the wire, with the raw transaction (outside the signature: its hash is signed) so a
 * member that never saw the transaction can forward it to the leader itself and judge on its own.
 */
export interface ReportMessage {
  readonly report: CensorshipReport;
  readonly rawTx?: Hex;
}

export function encodeReport(m: ReportMessage): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ ...m.report, ...(m.rawTx === undefined ? {} : { rawTx: m.rawTx }) }));
}

/** @throws CensorshipError for anything but a well-formed report (a raw transaction, if any, must hash to its txHash) */
export function decodeReport(payload: Uint8Array): ReportMessage {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  } catch (cause) {
    throw new CensorshipError("a censorship report is not JSON", { cause });
  }
  const count = (x: unknown) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
  const id = (x: unknown) => typeof x === "string" && isAddress(x, { strict: false }) && x === x.toLowerCase();
  if (v === null || typeof v !== "object" || !count(v.epoch) || !count(v.term) || !id(v.leader) || !id(v.reporter)) {
    throw new CensorshipError("a censorship report needs epoch and term (non-negative integers), leader and reporter (lower-case addresses)");
  }
  if (typeof v.txHash !== "string" || !isHex(v.txHash) || v.txHash.length !== 66 || typeof v.signature !== "string" || !isHex(v.signature)) {
    throw new CensorshipError("a censorship report needs a 32-byte txHash and a hex signature");
  }
  const report = { epoch: v.epoch as number, term: v.term as number, leader: v.leader as NodeId, txHash: v.txHash.toLowerCase() as Hex, reporter: v.reporter as NodeId, signature: v.signature };
  if (v.rawTx === undefined) return { report };
  if (typeof v.rawTx !== "string" || !isHex(v.rawTx) || keccak256(v.rawTx) !== report.txHash) throw new CensorshipError("a censorship report's rawTx must be hex hashing to its txHash");
  return { report, rawTx: v.rawTx };
}

export type TallyOutcome = "counted" | "duplicate" | "stale" | "not-a-member" | "self-report";

/** The reports against one leader in one term, and whether they add up to an ejection. */
export interface TallyView {
  readonly epoch: number;
  readonly term: number;
  readonly leader: NodeId;
  readonly reporters: readonly NodeId[];
  readonly stake: bigint;
  readonly total: bigint;
  readonly ejects: boolean;
}

/**
 * Verified reports (the caller checked each signature against the report's epoch's members), kept
 * per (epoch, term, leader); reports of terms below `floor` are stale and dropped.
 */
export class ReportTally {
  private readonly byKey = new Map<string, { epoch: number; term: number; leader: NodeId; reporters: Map<NodeId, bigint>; total: bigint }>();
  private floor = 0;
  private counted = 0;

  add(r: CensorshipReport, members: readonly StakedMember[]): TallyOutcome {
    if (r.term < this.floor) return "stale";
    if (r.reporter === r.leader) return "self-report";
    const reporter = members.find((m) => m.nodeId === r.reporter);
    if (reporter === undefined || !members.some((m) => m.nodeId === r.leader)) return "not-a-member";
    const key = `${r.epoch}/${r.term}/${r.leader}`;
    let t = this.byKey.get(key);
    if (t === undefined) {
      t = { epoch: r.epoch, term: r.term, leader: r.leader, reporters: new Map(), total: members.reduce((sum, m) => sum + m.stake, 0n) };
      this.byKey.set(key, t);
    }
    if (t.reporters.has(r.reporter)) return "duplicate";
    t.reporters.set(r.reporter, reporter.stake);
    this.counted++;
    return "counted";
  }

  /** Drops every tally below `term` (the cluster moved past it: those reports can no longer eject anyone). */
  advance(term: number): void {
    if (term <= this.floor) return;
    this.floor = term;
    for (const [key, t] of this.byKey) if (t.term < term) this.byKey.delete(key);
  }

  /** The tally against `leader` in `term` (any epoch whose reporters alone exceed half its stake). */
  against(leader: NodeId, term: number): TallyView | undefined {
    let best: TallyView | undefined;
    for (const t of this.byKey.values()) {
      if (t.leader !== leader || t.term !== term) continue;
      const stake = [...t.reporters.values()].reduce((sum, s) => sum + s, 0n);
      const view = { epoch: t.epoch, term, leader, reporters: [...t.reporters.keys()], stake, total: t.total, ejects: 2n * stake > t.total };
      if (best === undefined || view.ejects || view.stake > best.stake) best = view;
      if (view.ejects) break;
    }
    return best;
  }

  get reports(): number {
    return this.counted;
  }
}

/** The next member after `leader` in `schedule` (cyclically), skipping `skip`; undefined if none is left. */
export function successorOf(schedule: readonly NodeId[], leader: NodeId, skip: ReadonlySet<NodeId> = new Set()): NodeId | undefined {
  const at = schedule.indexOf(leader);
  for (let k = 1; k <= schedule.length; k++) {
    const id = schedule[(at + k) % schedule.length]!; // at is -1 when the leader is not scheduled: start at the primary
    if (id !== leader && !skip.has(id)) return id;
  }
  return undefined;
}
