/** `seq status`: one row per node. */
import { nodeRpc } from "../../rpc/client.js";

export type StatusInput = { readonly rpc: readonly string[] };

export async function status(input: StatusInput): Promise<void> {
  const rows = await Promise.all(
    input.rpc.map(async (url) => {
      try {
        const s = (await nodeRpc(url, "seq_status")) as Record<string, unknown>;
        return { url, role: s.role, term: s.term, leader: s.leader, commitIndex: s.commitIndex, nextPosition: s.nextPosition, epoch: s.epoch };
      } catch (e) {
        return { url, error: (e as Error).message };
      }
    }),
  );
  console.table(rows);
}
