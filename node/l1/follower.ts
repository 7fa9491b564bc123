/**
 * Follows L1 behind a confirmation depth and reports each new epoch with its frozen active
 * set and leader schedule. Every node reads a set at a block buried `confirmations` deep, so
 * a shallow reorg cannot make two nodes act on different sets (an epoch's set is fixed at its
 * start: any confirmed block inside the epoch gives the same answer).
 */
import type { PublicClient } from "viem";
import type { Logger } from "../ops/logger.js";
import type { EpochView, RegistryReader } from "./registry.js";

export interface L1FollowerOptions {
  readonly client: PublicClient;
  readonly registry: RegistryReader;
  /** Blocks a block must be buried under before it counts. */
  readonly confirmations: number;
  readonly pollMs: number;
  readonly logger: Logger;
  /** Told about each failed poll (metrics); the follower retries on the next poll. */
  readonly onError?: (error: Error) => void;
}

/** How many past epochs' views are kept (membership checks look back this far). */
const KEPT_EPOCHS = 4n;

export class L1Follower {
  private views = new Map<bigint, EpochView>();
  private listeners: ((view: EpochView) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private confirmed = -1n;
  private latestEpoch = -1n;
  private lastErrorMessage: string | null = null;

  constructor(private readonly opts: L1FollowerOptions) {}

  /** Reads the confirmed epoch and the views of it and its predecessors; throws if L1 is unreachable. */
  async init(): Promise<EpochView> {
    await this.pollOnce(true);
    return this.current();
  }

  /** The latest confirmed epoch. */
  get epoch(): bigint {
    return this.latestEpoch;
  }

  get confirmedBlock(): bigint {
    return this.confirmed;
  }

  get lastError(): string | null {
    return this.lastErrorMessage;
  }

  /** The latest confirmed epoch's view. */
  current(): EpochView {
    return this.views.get(this.latestEpoch)!;
  }

  /** Views of the kept epochs, newest first. */
  recent(): EpochView[] {
    return [...this.views.values()].sort((a, b) => (a.epoch > b.epoch ? -1 : 1));
  }

  /** The view of a confirmed epoch (frozen sets: cached once read). */
  async view(epoch: bigint): Promise<EpochView> {
    const cached = this.views.get(epoch);
    if (cached) return cached;
    if (epoch > this.latestEpoch) throw new RangeError(`epoch ${epoch} is not confirmed yet (latest confirmed: ${this.latestEpoch})`);
    return this.opts.registry.epochView(epoch, this.confirmed);
  }

  /** `listener` is called with each newly confirmed epoch's view, in epoch order. */
  onEpoch(listener: (view: EpochView) => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.pollOnce(false), this.opts.pollMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async pollOnce(initial: boolean): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const head = await this.opts.client.getBlockNumber({ cacheTime: 0 }); // viem caches it for its polling interval otherwise
      const buried = head - BigInt(this.opts.confirmations);
      const at = buried < 0n ? 0n : buried;
      if (!initial && at <= this.confirmed) return;
      const epoch = await this.opts.registry.currentEpoch(at);
      // Every kept epoch not read yet, skipped ones included (a node that stalled catches up).
      const lowest = epoch >= KEPT_EPOCHS - 1n ? epoch - KEPT_EPOCHS + 1n : 0n;
      const fresh: EpochView[] = [];
      for (let e = lowest; e <= epoch; e++) if (!this.views.has(e)) fresh.push(await this.opts.registry.epochView(e, at));
      this.confirmed = at;
      for (const v of fresh) this.views.set(v.epoch, v);
      for (const e of this.views.keys()) if (e + KEPT_EPOCHS <= epoch) this.views.delete(e);
      const announce = fresh.filter((v) => v.epoch > this.latestEpoch);
      if (epoch > this.latestEpoch) this.latestEpoch = epoch;
      this.lastErrorMessage = null;
      if (!initial) {
        for (const v of announce) {
          this.opts.logger.info({ epoch: Number(v.epoch), members: v.members.length, primary: v.schedule[0] ?? null }, "new epoch confirmed on L1");
          const unproven = v.members.filter((m) => m.peerId === null).map((m) => m.operator);
          if (unproven.length > 0) this.opts.logger.warn({ epoch: Number(v.epoch), operators: unproven }, "members whose peer-id proof does not verify: treated as offline");
          for (const l of this.listeners) l(v);
        }
      }
    } catch (cause) {
      const error = cause as Error;
      if (initial) throw error;
      this.lastErrorMessage = error.message;
      this.opts.logger.warn({ err: error.message }, "L1 poll failed; retrying");
      this.opts.onError?.(error);
    } finally {
      this.polling = false;
    }
  }
}
