/**
 * The DKG's messages and their canonical encoding (node/codec's Reader/Writer, every count and size
 * bounded, every point checked to be in its subgroup, every scalar below r). `deal`, `complaint`
 * and `justification` are public: a later step carries them through the replicated log, so every
 * member and any third party judges the same transcript. `shares` is private, member to member
 * (over the Noise-encrypted libp2p stream); nothing depends on it being delivered honestly, since a
 * recipient who gets no or wrong shares complains and the dealer must publish them.
 */
import { Reader, Writer } from "../codec/bytes.js";
import { G1_BYTES, type G1Point, SCALAR_BYTES, g1FromBytes, g1ToBytes, scalarFromBytes, scalarToBytes } from "./curve.js";
import { decoding } from "./bytes.js";
import { MalformedThresholdDataError } from "./errors.js";
import { MAX_MEMBERS, MAX_TOTAL_UNITS } from "./units.js";

export const SESSION_BYTES = 32;

/** A dealer's Feldman commitments C_k = a_k·G1 to its polynomial f(x) = Σ a_k x^k of degree threshold - 1. */
export type DealMessage = { readonly kind: "deal"; readonly session: Uint8Array; readonly dealer: number; readonly commitments: readonly G1Point[] };
/** f_dealer(j) for each of the recipient's unit indices j, in order: private to the recipient. */
export type SharesMessage = { readonly kind: "shares"; readonly session: Uint8Array; readonly dealer: number; readonly recipient: number; readonly values: readonly bigint[] };
/** The complainer got no shares from the dealer, or shares its commitments refute. */
export type ComplaintMessage = { readonly kind: "complaint"; readonly session: Uint8Array; readonly complainer: number; readonly dealer: number };
/** The dealer's answer to a complaint: the complainer's shares, in public, for anyone to check against the commitments. */
export type JustificationMessage = { readonly kind: "justification"; readonly session: Uint8Array; readonly dealer: number; readonly complainer: number; readonly values: readonly bigint[] };

export type DkgMessage = DealMessage | SharesMessage | ComplaintMessage | JustificationMessage;

const TAGS = { deal: 1, shares: 2, complaint: 3, justification: 4 } as const;

/** The member that authored a message (the transport must have authenticated it as the sender). */
export function authorOf(message: DkgMessage): number {
  switch (message.kind) {
    case "deal":
    case "shares":
    case "justification":
      return message.dealer;
    case "complaint":
      return message.complainer;
  }
}

function member(w: Writer, value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= MAX_MEMBERS) throw new RangeError(`${what} ${value} is out of range (at most ${MAX_MEMBERS} members)`);
  w.varint(value, what);
}

function scalars(w: Writer, values: readonly bigint[]): void {
  if (values.length > MAX_TOTAL_UNITS) throw new RangeError(`at most ${MAX_TOTAL_UNITS} share values, got ${values.length}`);
  w.varint(values.length, "value count");
  for (const v of values) w.raw(scalarToBytes(v));
}

export function encodeDkgMessage(message: DkgMessage): Uint8Array {
  if (message.session.length !== SESSION_BYTES) throw new RangeError(`a session id is ${SESSION_BYTES} bytes`);
  const w = new Writer(64);
  w.u8(TAGS[message.kind]);
  w.raw(message.session);
  switch (message.kind) {
    case "deal":
      member(w, message.dealer, "dealer");
      if (message.commitments.length === 0 || message.commitments.length > MAX_TOTAL_UNITS) throw new RangeError(`a deal has 1 to ${MAX_TOTAL_UNITS} commitments`);
      w.varint(message.commitments.length, "commitment count");
      for (const c of message.commitments) w.raw(g1ToBytes(c));
      break;
    case "shares":
      member(w, message.dealer, "dealer");
      member(w, message.recipient, "recipient");
      scalars(w, message.values);
      break;
    case "complaint":
      member(w, message.complainer, "complainer");
      member(w, message.dealer, "dealer");
      break;
    case "justification":
      member(w, message.dealer, "dealer");
      member(w, message.complainer, "complainer");
      scalars(w, message.values);
      break;
  }
  return w.finish();
}

function readMember(r: Reader, what: string): number {
  const v = r.varint(what);
  if (v >= MAX_MEMBERS) throw new MalformedThresholdDataError(`${what} ${v} is out of range (at most ${MAX_MEMBERS} members)`);
  return v;
}

function readScalars(r: Reader): bigint[] {
  const n = r.count(MAX_TOTAL_UNITS, SCALAR_BYTES, "value");
  const out: bigint[] = [];
  for (let k = 0; k < n; k++) out.push(scalarFromBytes(r.raw(SCALAR_BYTES, "value"), `value ${k}`));
  return out;
}

export function decodeDkgMessage(bytes: Uint8Array): DkgMessage {
  return decoding("DKG message", () => {
    const r = new Reader(bytes, "DKG message");
    const tag = r.u8("kind");
    const session = r.raw(SESSION_BYTES, "session").slice();
    let message: DkgMessage;
    switch (tag) {
      case TAGS.deal: {
        const dealer = readMember(r, "dealer");
        const n = r.count(MAX_TOTAL_UNITS, G1_BYTES, "commitment");
        if (n === 0) throw new MalformedThresholdDataError("a deal has no commitments");
        const commitments: G1Point[] = [];
        for (let k = 0; k < n; k++) commitments.push(g1FromBytes(r.raw(G1_BYTES, "commitment"), `commitment ${k}`));
        message = { kind: "deal", session, dealer, commitments };
        break;
      }
      case TAGS.shares: {
        const dealer = readMember(r, "dealer");
        const recipient = readMember(r, "recipient");
        message = { kind: "shares", session, dealer, recipient, values: readScalars(r) };
        break;
      }
      case TAGS.complaint: {
        const complainer = readMember(r, "complainer");
        message = { kind: "complaint", session, complainer, dealer: readMember(r, "dealer") };
        break;
      }
      case TAGS.justification: {
        const dealer = readMember(r, "dealer");
        const complainer = readMember(r, "complainer");
        message = { kind: "justification", session, dealer, complainer, values: readScalars(r) };
        break;
      }
      default:
        throw new MalformedThresholdDataError(`unknown DKG message kind ${tag}`);
    }
    r.end();
    return message;
  });
}
