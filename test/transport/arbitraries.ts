/** fast-check generators for the Raft core's types, shared by the codec, storage and transport tests. */
import fc from "fast-check";
import type { Entry, HardState, MembershipConfig, Message, Snapshot, Tx } from "../../node/consensus/types.js";
import { bytesToHex } from "../../node/codec/index.js";

export const uint = fc.maxSafeNat();
export const nodeId = fc.string({ minLength: 1, maxLength: 24, unit: "grapheme" });

export const tx: fc.Arbitrary<Tx> = fc.record({
  hash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b)),
  data: fc.uint8Array({ maxLength: 300 }),
});

/** Stakes up to any uint256 (78 digits); fast-check favours the small and the extreme ones. */
export const weight = fc.bigInt({ min: 1n, max: 2n ** 256n - 1n }).map(String);

/** Voters, and (or not) one weight each. */
const weightedVoters = fc
  .array(nodeId, { maxLength: 7 })
  .chain((ids) => fc.record({ ids: fc.constant(ids), weights: fc.option(fc.array(weight, { minLength: ids.length, maxLength: ids.length }), { nil: undefined }) }));

export const membershipConfig: fc.Arbitrary<MembershipConfig> = fc
  .record({ voters: weightedVoters, outgoing: fc.option(weightedVoters, { nil: undefined }), learners: fc.array(nodeId, { maxLength: 3 }) })
  .map(({ voters, outgoing, learners }) => ({
    voters: voters.ids,
    ...(voters.weights !== undefined ? { weights: voters.weights } : {}),
    ...(outgoing !== undefined ? { outgoing: outgoing.ids } : {}),
    ...(outgoing?.weights !== undefined ? { outgoingWeights: outgoing.weights } : {}),
    learners,
  }));

export const entry: fc.Arbitrary<Entry> = fc.record(
  {
    index: uint,
    term: uint,
    kind: fc.constantFrom("noop", "txs", "config", "app"),
    firstPosition: uint,
    txs: fc.array(tx, { maxLength: 8 }),
    config: membershipConfig,
    app: fc.uint8Array({ maxLength: 64 }),
  },
  { requiredKeys: ["index", "term", "kind", "firstPosition"] },
);

export const hardState: fc.Arbitrary<HardState> = fc.record({ term: uint, vote: fc.option(nodeId, { nil: null }), commit: uint });

export const snapshot: fc.Arbitrary<Snapshot> = fc.record({
  meta: fc.record({ index: uint, term: uint, config: membershipConfig, nextPosition: uint }),
  data: fc.uint8Array({ maxLength: 512 }),
});

const base = { from: nodeId, to: nodeId, term: uint };

export const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ ...base, type: fc.constant("preVote" as const), lastIndex: uint, lastTerm: uint }),
  fc.record({ ...base, type: fc.constant("preVoteResp" as const), granted: fc.boolean() }),
  fc.record({ ...base, type: fc.constant("vote" as const), lastIndex: uint, lastTerm: uint, transfer: fc.boolean() }),
  fc.record({ ...base, type: fc.constant("voteResp" as const), granted: fc.boolean() }),
  fc.record({
    ...base,
    type: fc.constant("append" as const),
    prevIndex: uint,
    prevTerm: uint,
    entries: fc.array(entry, { maxLength: 5 }),
    commit: uint,
  }),
  fc.record({ ...base, type: fc.constant("appendResp" as const), success: fc.boolean(), matchIndex: uint, hintIndex: uint, hintTerm: uint }),
  fc.record({ ...base, type: fc.constant("snapshot" as const), snapshot }),
  fc.record({ ...base, type: fc.constant("snapshotResp" as const), success: fc.boolean(), matchIndex: uint }),
  fc.record({ ...base, type: fc.constant("timeoutNow" as const) }),
);

