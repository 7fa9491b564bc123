/**
 * Distributed key generation: Pedersen's joint-Feldman DKG with complaints and public
 * justifications (Pedersen, EUROCRYPT '91; the complaint round as in Gennaro, Jarecki, Krawczyk and
 * Rabin, "Secure Distributed Key Generation for Discrete-Log Based Cryptosystems", J. Cryptology
 * 2007, Fig. 1 phase 1), over stake units: a member with k units gets k share indices, and every
 * polynomial has degree threshold - 1 from the unit plan.
 *
 * A pure state machine in etcd's style: no I/O, no timers; the driver delivers messages (`step`)
 * and ends the phases (`endDealing`, `endComplaints`, `finish`) at the deadlines it enforces, for
 * instance at agreed positions of the replicated log. Randomness is an input (`deal(random)`).
 *
 *   dealing       every member deals: a public DealMessage (Feldman commitments) and a private
 *                 SharesMessage to each member holding units.
 *   complaining   each recipient checks f_d(j)·G1 = Σ C_{d,k} j^k for its indices j and complains in
 *                 public about every dealer whose shares are missing or refuted.
 *   justifying    each dealer answers each complaint against it by publishing the complainer's shares.
 *   done          a dealer is qualified iff it dealt and every complaint against it has a
 *                 justification that its commitments confirm (`judgeTranscript`, which any third
 *                 party runs on the public messages). The epoch key is the sum of the qualified
 *                 dealers' constant terms; the DKG fails unless they hold more than half of the stake.
 */
import {
  G1,
  type G1Point,
  type RandomBytes,
  evaluateCommitments,
  evaluatePolynomial,
  randomScalar,
  sha256Of,
} from "./curve.js";
import type { ComplaintMessage, DealMessage, DkgMessage, JustificationMessage, SharesMessage } from "./dkg-messages.js";
import { SESSION_BYTES, authorOf } from "./dkg-messages.js";
import { sameBytes } from "./bytes.js";
import { DkgFailedError, DkgMessageError, ThresholdError } from "./errors.js";
import type { EpochPublicKey, SecretShare } from "./shares.js";
import { type StakeUnitPlan, shareIndicesOf } from "./units.js";
import { Writer } from "../codec/bytes.js";

export type DkgPhase = "dealing" | "complaining" | "justifying" | "done";

/** The session id every message carries: a hash of a caller's label (chain, epoch) and the unit plan. */
export function dkgSession(label: Uint8Array, plan: StakeUnitPlan): Uint8Array {
  const w = new Writer(64 + plan.units.length * 8);
  w.bytes(label, 256, "DKG label");
  w.varint(plan.units.length, "members");
  for (let i = 0; i < plan.units.length; i++) {
    w.string(plan.stakes[i]!.toString(16), 80, "stake");
    w.varint(plan.units[i]!, "units");
  }
  w.varint(plan.threshold, "threshold");
  return sha256Of(new TextEncoder().encode("staked-sequencer/dkg/v1"), w.finish());
}

/** Whether f(index) = value for the polynomial the commitments commit to: value·G1 = Σ C_k·index^k. */
export function shareMatchesCommitments(commitments: readonly G1Point[], index: number, value: bigint): boolean {
  if (value === 0n) return evaluateCommitments(commitments, index).is0();
  return G1.BASE.multiply(value).equals(evaluateCommitments(commitments, index));
}

function sharesMatch(plan: StakeUnitPlan, deal: DealMessage, recipient: number, values: readonly bigint[]): boolean {
  const indices = shareIndicesOf(plan, recipient);
  return values.length === indices.length && indices.every((j, k) => shareMatchesCommitments(deal.commitments, j, values[k]!));
}

/** The public messages of a DKG, as every member and any observer of the log sees them. */
export type DkgTranscript = {
  readonly deals: readonly DealMessage[];
  readonly complaints: readonly ComplaintMessage[];
  readonly justifications: readonly JustificationMessage[];
};

export type DealerExclusion = {
  readonly dealer: number;
  readonly reason: "no deal" | "unanswered complaint";
  /** For an unanswered complaint: the members whose complaints got no justification the commitments confirm. */
  readonly complainers: readonly number[];
};

/**
 * Who qualifies, from the public messages alone. A complaint costs an honest dealer nothing (it
 * publishes the complainer's shares, which its commitments confirm); a dealer whose shares were
 * wrong either publishes right ones (then the complainer uses them) or is excluded.
 */
export function judgeTranscript(plan: StakeUnitPlan, transcript: DkgTranscript): { qualified: number[]; excluded: DealerExclusion[] } {
  const deals = new Map<number, DealMessage>();
  for (const deal of transcript.deals) if (!deals.has(deal.dealer)) deals.set(deal.dealer, deal);
  const qualified: number[] = [];
  const excluded: DealerExclusion[] = [];
  for (let dealer = 0; dealer < plan.units.length; dealer++) {
    const deal = deals.get(dealer);
    if (deal === undefined || deal.commitments.length !== plan.threshold) {
      excluded.push({ dealer, reason: "no deal", complainers: [] });
      continue;
    }
    const unanswered = [...new Set(transcript.complaints.filter((c) => c.dealer === dealer).map((c) => c.complainer))]
      .filter((complainer) => !transcript.justifications.some((j) => j.dealer === dealer && j.complainer === complainer && sharesMatch(plan, deal, complainer, j.values)))
      .sort((a, b) => a - b);
    if (unanswered.length > 0) excluded.push({ dealer, reason: "unanswered complaint", complainers: unanswered });
    else qualified.push(dealer);
  }
  return { qualified, excluded };
}

/**
 * The epoch's public key and public shares from the qualified dealers' commitments; DkgFailedError
 * unless the qualified dealers hold more than half of the stake (then at least one of them is
 * honest whenever a stake majority is, and the secret is unknown to any stake minority).
 */
export function epochPublicKeyFrom(plan: StakeUnitPlan, transcript: DkgTranscript, qualified: readonly number[]): EpochPublicKey {
  const stake = qualified.reduce((sum, d) => sum + plan.stakes[d]!, 0n);
  if (2n * stake <= plan.totalStake) {
    throw new DkgFailedError("the qualified dealers hold at most half of the stake", { details: `qualified ${qualified.join(", ") || "none"}: ${stake} of ${plan.totalStake}` });
  }
  const aggregate: G1Point[] = Array.from({ length: plan.threshold }, () => G1.ZERO);
  for (const dealer of qualified) {
    const deal = transcript.deals.find((d) => d.dealer === dealer)!;
    deal.commitments.forEach((c, k) => (aggregate[k] = aggregate[k]!.add(c)));
  }
  const publicKey = aggregate[0]!;
  if (publicKey.is0()) throw new DkgFailedError("the qualified dealers' constant terms sum to zero");
  const publicShares = Array.from({ length: plan.totalUnits }, (_, k) => evaluateCommitments(aggregate, k + 1));
  return { plan, publicKey, publicShares };
}

export type DkgResult = EpochPublicKey & {
  readonly qualified: readonly number[];
  readonly excluded: readonly DealerExclusion[];
  /** This member's shares s_j of the epoch secret, one per unit index it holds. */
  readonly secretShares: readonly SecretShare[];
};

/** One member's side of the DKG. */
export class DkgMember {
  private phaseNow: DkgPhase = "dealing";
  private polynomial: bigint[] | undefined;
  private readonly deals = new Map<number, DealMessage>();
  private readonly received = new Map<number, readonly bigint[]>();
  private readonly complaints: ComplaintMessage[] = [];
  private readonly justifications = new Map<string, JustificationMessage>();
  private resultValue: DkgResult | undefined;

  constructor(
    readonly session: Uint8Array,
    readonly plan: StakeUnitPlan,
    readonly self: number,
  ) {
    if (session.length !== SESSION_BYTES) throw new ThresholdError(`a DKG session id is ${SESSION_BYTES} bytes`);
    if (!Number.isSafeInteger(self) || self < 0 || self >= plan.units.length) throw new ThresholdError(`member ${self} is not in the plan`);
  }

  get phase(): DkgPhase {
    return this.phaseNow;
  }

  get result(): DkgResult | undefined {
    return this.resultValue;
  }

  /** The public transcript this member has seen. */
  transcript(): DkgTranscript {
    return { deals: [...this.deals.values()], complaints: [...this.complaints], justifications: [...this.justifications.values()] };
  }

  /**
   * Deals once: the public deal to publish and the private shares, one message per other member
   * holding units. Public messages count only as the transcript delivers them: the driver steps
   * every public message into every member, its author included (as the log does), so a dealer
   * whose deal or justification never reaches the log is judged on the same transcript as by all.
   */
  deal(random: RandomBytes): { deal: DealMessage; shares: SharesMessage[] } {
    this.expectPhase("dealing", "deal");
    if (this.polynomial !== undefined) throw new DkgMessageError(`member ${this.self} has dealt already`);
    const coefficients: bigint[] = [];
    while (coefficients.length < this.plan.threshold) {
      const a = randomScalar(random);
      if (a !== 0n) coefficients.push(a);
    }
    const deal: DealMessage = { kind: "deal", session: this.session, dealer: this.self, commitments: coefficients.map((a) => G1.BASE.multiply(a)) };
    const shares: SharesMessage[] = [];
    for (let recipient = 0; recipient < this.plan.units.length; recipient++) {
      const values = shareIndicesOf(this.plan, recipient).map((j) => evaluatePolynomial(coefficients, j));
      if (recipient === this.self) this.received.set(this.self, values);
      else if (values.length > 0) shares.push({ kind: "shares", session: this.session, dealer: this.self, recipient, values });
    }
    this.polynomial = coefficients;
    return { deal, shares };
  }

  /**
   * Takes one message from `from` (authenticated by the transport). Throws DkgMessageError and
   * changes nothing for a message out of phase, from another session or sender, or conflicting with
   * one already taken; an exact repeat is ignored. A justification the commitments refute is taken
   * as no answer (the judgement excludes the dealer unless a right one arrives).
   */
  step(message: DkgMessage, from: number): void {
    if (!sameBytes(message.session, this.session)) throw new DkgMessageError(`a ${message.kind} message from another DKG session`);
    if (authorOf(message) !== from) throw new DkgMessageError(`member ${from} sent a ${message.kind} message authored by member ${authorOf(message)}`);
    this.checkMember(from, "sender");
    switch (message.kind) {
      case "deal":
        return this.takeDeal(message);
      case "shares":
        return this.takeShares(message);
      case "complaint":
        return this.takeComplaint(message);
      case "justification":
        return this.takeJustification(message);
    }
  }

  private takeDeal(deal: DealMessage): void {
    const known = this.deals.get(deal.dealer);
    if (known !== undefined) {
      if (known.commitments.length === deal.commitments.length && known.commitments.every((c, k) => c.equals(deal.commitments[k]!))) return;
      throw new DkgMessageError(`member ${deal.dealer} sent a second, different deal`);
    }
    this.expectPhase("dealing", "deal");
    if (deal.commitments.length !== this.plan.threshold) {
      throw new DkgMessageError(`member ${deal.dealer}'s deal commits to ${deal.commitments.length} coefficients, the threshold is ${this.plan.threshold}`);
    }
    this.deals.set(deal.dealer, deal);
  }

  private takeShares(shares: SharesMessage): void {
    if (shares.recipient !== this.self) throw new DkgMessageError(`shares for member ${shares.recipient} delivered to member ${this.self}`);
    const known = this.received.get(shares.dealer);
    if (known !== undefined) {
      if (known.length === shares.values.length && known.every((v, k) => v === shares.values[k])) return;
      throw new DkgMessageError(`member ${shares.dealer} sent a second, different set of shares`);
    }
    this.expectPhase("dealing", "shares");
    const units = this.plan.units[this.self]!;
    if (shares.values.length !== units) throw new DkgMessageError(`member ${shares.dealer} sent ${shares.values.length} shares, member ${this.self} holds ${units} units`);
    this.received.set(shares.dealer, shares.values);
  }

  private takeComplaint(complaint: ComplaintMessage): void {
    this.checkMember(complaint.dealer, "accused dealer");
    if (this.complaints.some((c) => c.complainer === complaint.complainer && c.dealer === complaint.dealer)) return;
    if (this.phaseNow !== "dealing" && this.phaseNow !== "complaining") throw new DkgMessageError(`a complaint arrived in the ${this.phaseNow} phase`);
    if (complaint.complainer === complaint.dealer) throw new DkgMessageError(`member ${complaint.dealer} complains about itself`);
    if (this.plan.units[complaint.complainer] === 0) throw new DkgMessageError(`member ${complaint.complainer} holds no units, so no shares to complain about`);
    this.complaints.push(complaint);
  }

  private takeJustification(justification: JustificationMessage): void {
    const key = `${justification.dealer}:${justification.complainer}`;
    if (this.justifications.has(key)) return;
    this.expectPhase("justifying", "justification");
    if (!this.complaints.some((c) => c.dealer === justification.dealer && c.complainer === justification.complainer)) {
      throw new DkgMessageError(`member ${justification.dealer} answers a complaint by member ${justification.complainer} that was never made`);
    }
    const deal = this.deals.get(justification.dealer);
    if (deal !== undefined && sharesMatch(this.plan, deal, justification.complainer, justification.values)) this.justifications.set(key, justification);
  }

  /** Ends the dealing phase: this member's complaints, to publish. */
  endDealing(): ComplaintMessage[] {
    this.expectPhase("dealing", "end of dealing");
    this.phaseNow = "complaining";
    const out: ComplaintMessage[] = [];
    if (this.plan.units[this.self] === 0) return out;
    for (const [dealer, deal] of [...this.deals].sort((a, b) => a[0] - b[0])) {
      if (dealer === this.self) continue;
      const values = this.received.get(dealer);
      if (values !== undefined && sharesMatch(this.plan, deal, this.self, values)) continue;
      out.push({ kind: "complaint", session: this.session, complainer: this.self, dealer });
    }
    return out;
  }

  /** Ends the complaint phase: this member's justifications for the complaints against it, to publish. */
  endComplaints(): JustificationMessage[] {
    this.expectPhase("complaining", "end of complaints");
    this.phaseNow = "justifying";
    const polynomial = this.polynomial;
    if (polynomial === undefined) return [];
    const out: JustificationMessage[] = [];
    for (const complaint of this.complaints) {
      if (complaint.dealer !== this.self) continue;
      const values = shareIndicesOf(this.plan, complaint.complainer).map((j) => evaluatePolynomial(polynomial, j));
      out.push({ kind: "justification", session: this.session, dealer: this.self, complainer: complaint.complainer, values });
    }
    return out;
  }

  /** Ends the DKG: the qualified set, the epoch key, the public shares and this member's secret shares. */
  finish(): DkgResult {
    this.expectPhase("justifying", "finish");
    const transcript = this.transcript();
    const { qualified, excluded } = judgeTranscript(this.plan, transcript);
    const epoch = epochPublicKeyFrom(this.plan, transcript, qualified);
    const indices = shareIndicesOf(this.plan, this.self);
    const sums = indices.map(() => 0n);
    for (const dealer of qualified) {
      if (indices.length === 0) break; // a member without units holds no shares
      const values = this.justifications.get(`${dealer}:${this.self}`)?.values ?? this.received.get(dealer);
      if (values === undefined) throw new ThresholdError(`member ${this.self} has no shares from qualified dealer ${dealer}`);
      values.forEach((v, k) => (sums[k] = (sums[k]! + v) % G1.Fn.ORDER));
    }
    const secretShares = indices.map((index, k) => ({ index, value: sums[k]! }));
    for (const share of secretShares) {
      const expected = epoch.publicShares[share.index - 1]!;
      if (!(share.value === 0n ? expected.is0() : G1.BASE.multiply(share.value).equals(expected))) {
        throw new ThresholdError(`member ${this.self}'s share ${share.index} does not match its public share`);
      }
    }
    this.phaseNow = "done";
    this.resultValue = { ...epoch, qualified, excluded, secretShares };
    return this.resultValue;
  }

  private expectPhase(phase: DkgPhase, what: string): void {
    if (this.phaseNow !== phase) throw new DkgMessageError(`${what} belongs to the ${phase} phase, the DKG is in the ${this.phaseNow} phase`);
  }

  private checkMember(member: number, what: string): void {
    if (!Number.isSafeInteger(member) || member < 0 || member >= this.plan.units.length) throw new DkgMessageError(`${what} ${member} is not a member (${this.plan.units.length} members)`);
  }
}
