/**
 * Membership configurations by log index. Config entries take effect when appended
 * (Raft thesis §4.1), so the current configuration is the one of the last config
 * entry in the log, which a truncation can revert.
 */
import type { Entry, MembershipConfig } from "./types.js";

interface ConfigAt {
  readonly index: number;
  readonly config: MembershipConfig;
}

export class ConfigHistory {
  /** Oldest first; [0] is the configuration at the compaction point. */
  private history: ConfigAt[];

  constructor(base: MembershipConfig, baseIndex: number) {
    this.history = [{ index: baseIndex, config: base }];
  }

  current(): MembershipConfig {
    return this.history[this.history.length - 1]!.config;
  }

  /** Index of the entry that introduced the current configuration. */
  currentIndex(): number {
    return this.history[this.history.length - 1]!.index;
  }

  /** Configuration in force after applying entries up to `index`. */
  at(index: number): MembershipConfig {
    for (let i = this.history.length - 1; i >= 0; i--) {
      if (this.history[i]!.index <= index) return this.history[i]!.config;
    }
    return this.history[0]!.config;
  }

  /** Records config entries among appended `entries`; true if the current config changed. */
  onAppend(entries: readonly Entry[]): boolean {
    let changed = false;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.kind === "config" && e.config) {
        this.history.push({ index: e.index, config: e.config });
        changed = true;
      }
    }
    return changed;
  }

  /** Forgets configurations introduced at or above `index`; true if the current config changed. */
  onTruncate(index: number): boolean {
    let changed = false;
    while (this.history.length > 1 && this.history[this.history.length - 1]!.index >= index) {
      this.history.pop();
      changed = true;
    }
    return changed;
  }

  /** Keeps only what is needed from the compaction point `index` on. */
  onCompact(index: number): void {
    let keepFrom = 0;
    for (let i = 0; i < this.history.length; i++) if (this.history[i]!.index <= index) keepFrom = i;
    this.history = this.history.slice(keepFrom);
  }

  reset(base: MembershipConfig, baseIndex: number): void {
    this.history = [{ index: baseIndex, config: base }];
  }
}
