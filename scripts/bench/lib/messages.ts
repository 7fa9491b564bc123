/** Raft messages shaped like production traffic, for the transport benchmark and tests. */
import type { Message, Tx } from "../../../node/consensus/types.js";
import { bytesToHex } from "../../../node/codec/index.js";

/** A realistic append: `txCount` txs of `txBytes` random bytes each in one entry. */
export function appendMessage(from: string, to: string, index: number, txCount: number, txBytes: number): Message {
  const txs: Tx[] = [];
  for (let i = 0; i < txCount; i++) {
    const data = new Uint8Array(txBytes);
    for (let j = 0; j < txBytes; j += 4) data[j] = (i * 31 + j) & 0xff;
    const h = new Uint8Array(32);
    h[0] = i & 0xff;
    h[1] = (i >> 8) & 0xff;
    h[2] = index & 0xff;
    h[3] = (index >> 8) & 0xff;
    h[4] = (index >> 16) & 0xff;
    txs.push({ hash: bytesToHex(h), data });
  }
  return {
    type: "append",
    from,
    to,
    term: 3,
    prevIndex: index - 1,
    prevTerm: 3,
    commit: index - 1,
    entries: [{ index, term: 3, kind: "txs", firstPosition: (index - 1) * txCount, txs }],
  };
}
