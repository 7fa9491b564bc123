/**
 * A worker_threads pool for transaction decoding and sender recovery.
 *
 * Kept because it pays when cores are free: decode + recovery costs ~140 µs of CPU per
 * transaction even with native secp256k1 (about half is JS: RLP, re-serialization, keccak).
 * Measured on an idle 2-core machine: ~8,000/s on the calling thread, ~13,000/s with 2
 * workers; a 1-worker pool matches the calling thread while keeping the event loop free for
 * consensus and RPC. On a saturated machine it gains nothing (`npm run bench:recovery`).
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { Hex } from "viem";

import { decodeTransactions, type DecodeOptions, type DecodeResult, type DecodedTransaction } from "./decode.js";
import type { SlotKeyWire } from "./decrypt.js";
import { intakeErrorFromWire, type IntakeErrorWire } from "./errors.js";
import { BaseError } from "../errors/index.js";

export type WorkerSettings = { chainId: bigint | number; maxBytes: number };
/** With `slot`, `raws` are ciphertexts to open with its key before decoding. */
export type WorkerRequest = { id: number; raws: readonly (Hex | Uint8Array)[]; slot?: SlotKeyWire };
export type WorkerReply = {
  id: number;
  results: ({ ok: true; tx: DecodedTransaction } | { ok: false; error: IntakeErrorWire })[];
};

export type DecodePoolOptions = WorkerSettings & {
  /** Number of worker threads; defaults to one less than the cores, leaving one to the event loop. */
  size?: number;
  /** Transactions per message to a worker: large enough to amortize messaging, small enough to spread load. */
  chunkSize?: number;
};

export class DecodePoolClosedError extends BaseError {
  override readonly name = "DecodePoolClosedError";
  constructor() {
    super("the decode pool is closed");
  }
}

/** A worker died or threw while decoding: a bug, never a property of the submitted input. */
export class DecodeWorkerError extends BaseError {
  override readonly name = "DecodeWorkerError";
}

type Pending = { count: number; resolve: (reply: WorkerReply) => void; reject: (error: Error) => void };
type Queued = { raw: Hex | Uint8Array; resolve: (result: DecodeResult) => void; reject: (error: Error) => void };
/** Ciphertexts per worker message. */
const DECRYPT_CHUNK = 4;
type Slot = { worker: Worker; inFlight: Map<number, Pending>; load: number };

export class DecodePool {
  readonly size: number;
  private readonly settings: WorkerSettings;
  private readonly chunkSize: number;
  private readonly slots: Slot[] = [];
  /** Single submissions waiting for the end of this event-loop turn, to travel in one message. */
  private queued: Queued[] = [];
  private nextId = 0;
  private closed = false;

  private constructor(options: DecodePoolOptions) {
    this.size = options.size ?? Math.max(1, availableParallelism() - 1);
    if (!Number.isInteger(this.size) || this.size < 1) {
      throw new RangeError(`pool size must be a positive integer, got ${this.size}`);
    }
    this.chunkSize = options.chunkSize ?? 256;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1) {
      throw new RangeError(`chunk size must be a positive integer, got ${this.chunkSize}`);
    }
    this.settings = { chainId: options.chainId, maxBytes: options.maxBytes };
  }

  /** Starts the workers and resolves once every one has loaded its modules. */
  static async create(options: DecodePoolOptions): Promise<DecodePool> {
    const pool = new DecodePool(options);
    try {
      await Promise.all(Array.from({ length: pool.size }, () => pool.spawn()));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** Decodes `raws` across the workers; results are in input order, one per input. */
  decode(raws: readonly (Hex | Uint8Array)[]): Promise<DecodeResult[]> {
    return this.across(raws, this.chunkSize);
  }

  /**
   * Opens a keyed slot's ciphertexts and decodes the plaintexts across the workers (node/intake/decrypt.ts),
   * a few per message: each costs a pairing (tens of ms), so small chunks spread a slot over every worker.
   */
  decrypt(slot: SlotKeyWire, ciphertexts: readonly Uint8Array[]): Promise<DecodeResult[]> {
    return this.across(ciphertexts, DECRYPT_CHUNK, slot);
  }

  private async across(raws: readonly (Hex | Uint8Array)[], chunkSize: number, slot?: SlotKeyWire): Promise<DecodeResult[]> {
    if (this.closed) throw new DecodePoolClosedError();
    const chunks: Promise<WorkerReply>[] = [];
    for (let start = 0; start < raws.length; start += chunkSize) {
      chunks.push(this.send(raws.slice(start, start + chunkSize), slot));
    }
    const replies = await Promise.all(chunks);
    return replies.flatMap((reply) =>
      reply.results.map((result): DecodeResult => (result.ok ? result : { ok: false, error: intakeErrorFromWire(result.error) })),
    );
  }

  /**
   * Decodes one transaction. Calls made in the same turn of the event loop (one HTTP read's
   * worth of requests) share worker messages, so a busy server pays the messaging once per group.
   */
  decodeOne(raw: Hex | Uint8Array): Promise<DecodeResult> {
    if (this.closed) return Promise.reject(new DecodePoolClosedError());
    return new Promise((resolve, reject) => {
      if (this.queued.push({ raw, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const group = this.queued;
    this.queued = [];
    this.decode(group.map((q) => q.raw)).then(
      (results) => results.forEach((result, i) => group[i]!.resolve(result)),
      (error: Error) => group.forEach((q) => q.reject(error)),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queued.splice(0)) q.reject(new DecodePoolClosedError());
    const slots = this.slots.splice(0);
    for (const slot of slots) this.failSlot(slot, new DecodePoolClosedError());
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private send(raws: readonly (Hex | Uint8Array)[], key?: SlotKeyWire): Promise<WorkerReply> {
    if (this.slots.length === 0) return Promise.reject(new DecodeWorkerError("no decode worker is running"));
    const slot = this.slots.reduce((best, candidate) => (candidate.load < best.load ? candidate : best));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.inFlight.set(id, { count: raws.length, resolve, reject });
      slot.load += raws.length;
      slot.worker.ref();
      slot.worker.postMessage({ id, raws, ...(key === undefined ? {} : { slot: key }) } satisfies WorkerRequest);
    });
  }

  private spawn(): Promise<void> {
    const worker = createWorker(this.settings);
    const slot: Slot = { worker, inFlight: new Map(), load: 0 };
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on("message", (message: WorkerReply | { ready: true }) => {
        if ("ready" in message) {
          if (this.closed) {
            // A replacement that finished booting after close(): do not leak it.
            void worker.terminate();
            return reject(new DecodePoolClosedError());
          }
          ready = true;
          this.slots.push(slot);
          worker.unref();
          resolve();
          return;
        }
        const pending = slot.inFlight.get(message.id);
        if (!pending) return;
        slot.inFlight.delete(message.id);
        slot.load -= pending.count;
        if (slot.inFlight.size === 0) worker.unref();
        pending.resolve(message);
      });
      const fail = (error: Error) => {
        if (!ready) return reject(new DecodeWorkerError(`decode worker failed to start: ${error.message}`, { cause: error }));
        const index = this.slots.indexOf(slot);
        if (index === -1) return; // already closed or replaced
        this.slots.splice(index, 1);
        this.failSlot(slot, new DecodeWorkerError(`decode worker failed: ${error.message}`, { cause: error }));
        void worker.terminate();
        // Keep the pool at full size; if even that fails, later calls use the remaining workers.
        if (!this.closed) this.spawn().catch(() => undefined);
      };
      worker.on("error", fail);
      worker.on("exit", (code) => fail(new Error(`worker exited with code ${code}`)));
    });
  }

  private failSlot(slot: Slot, error: Error): void {
    for (const pending of slot.inFlight.values()) pending.reject(error);
    slot.inFlight.clear();
    slot.load = 0;
  }
}

/**
 * Decodes a batch of raw transactions and recovers their senders: on `pool` if given,
 * otherwise on the calling thread. One failure does not affect the others.
 */
export function recoverSenders(
  raws: readonly (Hex | Uint8Array)[],
  opts: DecodeOptions & { pool?: DecodePool },
): Promise<DecodeResult[]> {
  if (opts.pool) return opts.pool.decode(raws);
  return Promise.resolve(decodeTransactions(raws, opts));
}

const WORKER_HEAP_LIMITS = { maxYoungGenerationSizeMb: 12, maxOldGenerationSizeMb: 96 } as const;

/**
 * Run from source (tsx), the worker entry is TypeScript whose `.js` imports only tsx
 * resolves, and workers do not inherit in-process loader hooks: boot it through tsx's API.
 */
function createWorker(settings: WorkerSettings): Worker {
  const fromSource = import.meta.url.endsWith(".ts");
  const entry = new URL(fromSource ? "./worker.ts" : "./worker.js", import.meta.url);
  // A worker keeps nothing between chunks: a small heap bounds what it adds to the node's RSS.
  const options = { workerData: settings, resourceLimits: WORKER_HEAP_LIMITS };
  if (!fromSource) return new Worker(entry, options);
  const bootstrap =
    `import { tsImport } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))};\n` +
    `await tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(import.meta.url)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), options);
}
