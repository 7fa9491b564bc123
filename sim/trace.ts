/**
 * Bounded trace of simulator events, formatted only when a run fails (formatting every
 * message of every seed would dominate the run time). Ticks are not recorded.
 */
import type { Message } from "../node/consensus/index.js";

type TraceArg = string | number | boolean | null | undefined | Message | object;

export class Trace {
  private times: number[];
  private kinds: string[];
  private args: TraceArg[][];
  private next = 0;
  private count = 0;

  constructor(private readonly capacity: number) {
    this.times = new Array(capacity);
    this.kinds = new Array(capacity);
    this.args = new Array(capacity);
  }

  add(time: number, kind: string, ...args: TraceArg[]): void {
    if (this.capacity === 0) return;
    this.times[this.next] = time;
    this.kinds[this.next] = kind;
    this.args[this.next] = args;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** The last `limit` events, oldest first, one line each. */
  format(limit = this.capacity): string {
    const n = Math.min(limit, this.count);
    const lines: string[] = [];
    for (let k = n; k > 0; k--) {
      const i = (this.next - k + this.capacity) % this.capacity;
      lines.push(`${this.times[i].toFixed(1).padStart(9)}ms ${this.kinds[i].padEnd(10)} ${this.args[i].map(formatArg).join(" ")}`);
    }
    return lines.join("\n");
  }
}

function formatArg(a: TraceArg): string {
  if (a === null || a === undefined) return String(a);
  if (typeof a !== "object") return String(a);
  if ("type" in a && "from" in a && "to" in a) return formatMessage(a as Message);
  return JSON.stringify(a, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v));
}

export function formatMessage(m: Message): string {
  const head = `${m.type} ${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case "preVote":
    case "vote":
      return `${head} last=${m.lastIndex}@t${m.lastTerm}${m.type === "vote" && m.transfer ? " transfer" : ""}`;
    case "preVoteResp":
    case "voteResp":
      return `${head} ${m.granted ? "granted" : "rejected"}`;
    case "append": {
      const ents = m.entries.map((e) => `${e.index}@t${e.term}${e.kind === "txs" ? `[${e.txs?.length ?? 0}tx p${e.firstPosition}]` : `:${e.kind}`}`);
      return `${head} prev=${m.prevIndex}@t${m.prevTerm} commit=${m.commit} ents=[${ents.join(",")}]`;
    }
    case "appendResp":
      return `${head} ${m.success ? `ok match=${m.matchIndex}` : `reject hint=${m.hintIndex}@t${m.hintTerm}`}`;
    case "snapshot":
      return `${head} snap=${m.snapshot.meta.index}@t${m.snapshot.meta.term} nextPos=${m.snapshot.meta.nextPosition}`;
    case "snapshotResp":
      return `${head} ${m.success ? "ok" : "fail"} match=${m.matchIndex}`;
    case "timeoutNow":
      return head;
  }
}
