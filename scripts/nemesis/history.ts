/**
 * The nemesis history: every client request and answer and every fault, timestamped in ms since
 * the run started. It is what the checker judges, and what a failure prints an excerpt of.
 */
import { appendFileSync } from "node:fs";
import type { Hex } from "viem";
import type { OrderCommitmentProofJson } from "../../node/commitments/index.js";

type Base = { readonly t: number };
/** A client request: `op` pairs it with its answer; `node` is the index of the node asked. */
export type InvokeEvent = Base & { readonly kind: "invoke"; readonly op: number; readonly client: number; readonly node: number; readonly txHash: Hex; readonly retry: boolean };
export type OkEvent = Base & { readonly kind: "ok"; readonly op: number; readonly client: number; readonly node: number; readonly txHash: Hex; readonly position: number; readonly latencyMs: number; readonly commitment: OrderCommitmentProofJson };
/** The node answered with a JSON-RPC error (`code`), or could not be reached (`code` null). */
export type FailEvent = Base & { readonly kind: "fail"; readonly op: number; readonly client: number; readonly node: number; readonly txHash: Hex; readonly code: number | null; readonly error: string };
/** No answer within the client's timeout: the transaction may or may not commit. */
export type TimeoutEvent = Base & { readonly kind: "timeout"; readonly op: number; readonly client: number; readonly node: number; readonly txHash: Hex };
/** A fault starts or ends (`fault` says which, `detail` what was done to whom). */
export type NemesisEvent = Base & { readonly kind: "nemesis"; readonly id: number; readonly fault: string; readonly phase: "start" | "end"; readonly detail: string };
/** A node process exited without the nemesis killing it. */
export type CrashEvent = Base & { readonly kind: "crash"; readonly node: number; readonly exit: string; readonly logFile: string };
export type InfoEvent = Base & { readonly kind: "info"; readonly text: string };

export type HistoryEvent = InvokeEvent | OkEvent | FailEvent | TimeoutEvent | NemesisEvent | CrashEvent | InfoEvent;

/** An event before the recorder stamps it. */
export type Unstamped<E> = E extends unknown ? Omit<E, "t"> : never;

export class History {
  readonly events: HistoryEvent[] = [];
  private readonly t0 = performance.now();
  private nextOp = 0;

  /** `file`: every event is also appended there as a JSON line (kept for a post-mortem). */
  constructor(private readonly file?: string) {}

  now(): number {
    return Math.round(performance.now() - this.t0);
  }

  newOp(): number {
    return this.nextOp++;
  }

  /** Records an event stamped now. */
  add(event: Unstamped<HistoryEvent>): HistoryEvent {
    const e = { t: this.now(), ...event } as HistoryEvent;
    this.events.push(e);
    if (this.file !== undefined) appendFileSync(this.file, `${JSON.stringify(e)}\n`);
    return e;
  }
}

/** One line per event, for excerpts. */
export function formatEvent(e: HistoryEvent, names: (node: number) => string = (i) => `node-${i}`): string {
  const t = `${(e.t / 1000).toFixed(3).padStart(8)}s`;
  switch (e.kind) {
    case "invoke":
      return `${t} client-${e.client} op ${e.op} ${e.retry ? "resubmit" : "submit"} ${e.txHash} -> ${names(e.node)}`;
    case "ok":
      return `${t} client-${e.client} op ${e.op} ok ${e.txHash} at position ${e.position} (epoch ${BigInt(e.commitment.certificate.epoch)}, term ${BigInt(e.commitment.certificate.term)}, ${e.latencyMs} ms)`;
    case "fail":
      return `${t} client-${e.client} op ${e.op} error ${e.code ?? "unreachable"} ${e.txHash}: ${e.error}`;
    case "timeout":
      return `${t} client-${e.client} op ${e.op} timeout ${e.txHash}`;
    case "nemesis":
      return `${t} NEMESIS #${e.id} ${e.phase} ${e.fault}: ${e.detail}`;
    case "crash":
      return `${t} CRASH ${names(e.node)} exited on its own (${e.exit}); see ${e.logFile}`;
    case "info":
      return `${t} ${e.text}`;
  }
}

/**
 * The events around a moment and those naming a transaction: what a failure report prints.
 * Faults that were in force at `t` are always included.
 */
export function historyExcerpt(events: readonly HistoryEvent[], focus: { t?: number; txHash?: string; position?: number }, limit = 60): HistoryEvent[] {
  const near = (e: HistoryEvent) => focus.t !== undefined && Math.abs(e.t - focus.t) <= 2_000;
  const about = (e: HistoryEvent) =>
    (focus.txHash !== undefined && "txHash" in e && e.txHash.toLowerCase() === focus.txHash.toLowerCase()) ||
    (focus.position !== undefined && e.kind === "ok" && e.position === focus.position);
  // Everything about the transaction or position, then the latest other events near the moment.
  const named = events.filter(about);
  const nearby = events.filter((e) => !about(e) && near(e) && e.kind !== "invoke");
  const tail = [...named, ...(limit > named.length ? nearby.slice(-(limit - named.length)) : [])];
  // Faults in force at the focus time, however long ago they started.
  const open = new Map<number, HistoryEvent>();
  for (const e of focus.t === undefined ? [] : events) {
    if (e.t > focus.t!) break;
    if (e.kind === "nemesis") {
      if (e.phase === "start") open.set(e.id, e);
      else open.delete(e.id);
    }
  }
  const all = new Set([...open.values(), ...tail]);
  return [...all].sort((a, b) => a.t - b.t);
}
