/** Limits of the sequencer's JSON-RPC API that its clients (watchtower, rebuild, tools) rely on. */

/** Most transactions one `seq_getRange` call returns. */
export const MAX_RANGE = 1000;
