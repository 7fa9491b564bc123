/**
 * Shape checks for messages from peers. The core never throws on peer input: a
 * message failing these checks is dropped. Checks are O(entries), never O(txs).
 */
import { isWellFormedConfig } from "./membership.js";
import type { Entry, Message } from "./types.js";

const isIndex = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
const isBool = (x: unknown): x is boolean => typeof x === "boolean";

function isWellFormedEntry(e: unknown, index: number, minTerm: number, maxTerm: number): e is Entry {
  if (typeof e !== "object" || e === null) return false;
  const en = e as Entry;
  if (en.index !== index || !isIndex(en.term) || en.term < minTerm || en.term > maxTerm) return false;
  if (!isIndex(en.firstPosition)) return false;
  switch (en.kind) {
    case "txs":
      return Array.isArray(en.txs);
    case "config":
      return en.txs === undefined && isWellFormedConfig(en.config);
    case "noop":
      return en.txs === undefined;
    case "app":
      return en.txs === undefined && en.app instanceof Uint8Array;
    default:
      return false;
  }
}

/** Entries must be contiguous after prevIndex, with non-decreasing terms and chained positions. */
function areWellFormedEntries(entries: unknown, prevIndex: number, prevTerm: number, msgTerm: number): boolean {
  if (!Array.isArray(entries)) return false;
  let minTerm = prevTerm;
  let expectedPosition = -1;
  for (let i = 0; i < entries.length; i++) {
    const e: unknown = entries[i];
    if (!isWellFormedEntry(e, prevIndex + 1 + i, minTerm, msgTerm)) return false;
    if (expectedPosition >= 0 && e.firstPosition !== expectedPosition) return false;
    minTerm = e.term;
    expectedPosition = e.firstPosition + (e.txs?.length ?? 0);
  }
  return true;
}

export function isWellFormedMessage(m: unknown, self: string): m is Message {
  if (typeof m !== "object" || m === null) return false;
  const msg = m as Message;
  if (typeof msg.from !== "string" || msg.to !== self || msg.from === self || !isIndex(msg.term)) return false;
  switch (msg.type) {
    case "preVote":
      return isIndex(msg.lastIndex) && isIndex(msg.lastTerm);
    case "vote":
      return isIndex(msg.lastIndex) && isIndex(msg.lastTerm) && isBool(msg.transfer);
    case "preVoteResp":
    case "voteResp":
      return isBool(msg.granted);
    case "append":
      return (
        isIndex(msg.prevIndex) &&
        isIndex(msg.prevTerm) &&
        isIndex(msg.commit) &&
        msg.prevTerm <= msg.term &&
        areWellFormedEntries(msg.entries, msg.prevIndex, msg.prevTerm, msg.term)
      );
    case "appendResp":
      return isBool(msg.success) && isIndex(msg.matchIndex) && isIndex(msg.hintIndex) && isIndex(msg.hintTerm);
    case "snapshot": {
      const s = msg.snapshot;
      if (typeof s !== "object" || s === null || !(s.data instanceof Uint8Array)) return false;
      const meta = s.meta;
      return (
        typeof meta === "object" &&
        meta !== null &&
        isIndex(meta.index) &&
        isIndex(meta.term) &&
        meta.term <= msg.term &&
        isIndex(meta.nextPosition) &&
        isWellFormedConfig(meta.config)
      );
    }
    case "snapshotResp":
      return isBool(msg.success) && isIndex(msg.matchIndex);
    case "timeoutNow":
      return true;
    default:
      return false;
  }
}
