/** Limits of the sequencer's JSON-RPC API that its clients (watchtower, rebuild, tools) rely on. */

/** Most transactions one `seq_getRange` call returns. */
export const MAX_RANGE = 1000;

/** Most bytes of one forced transaction (ForcedInclusionQueue.MAX_ITEM_BYTES): `seq force` checks it up front. */
export const MAX_FORCED_TX_BYTES = 65_536;
