/**
 * The application state machine (hashicorp/raft's FSM): the one place committed entries are
 * applied, in log order, with every `app` record decoded once and dispatched to the part of the
 * state that owns it, and the one place a snapshot of all of that state is taken and restored.
 *
 * | record | owner |
 * | --- | --- |
 * | `txs` entries, `certificate`, `quorumCertificate` | certificates and the tx/position indexes (`CommitmentService`, with `QuorumCertificates`) |
 * | `batchCut`, `batchPosted`, `batchSigned` | the batch state (`BatchService`) |
 * | `epochLeader` | the epoch-leader settlement kept here |
 * | `dkgMessage`, `dkgPhase` | the epochs' key generation (`EpochKeys`) |
 * | positions `0xb1`–`0xb4`, `keyRelease` | the encrypted slots (`EncryptedSlots`), after the epoch keys they are checked against |
 *
 * The order inside one apply is part of crash safety: batch records reach the store before the
 * `applyCommitted` of the same entries moves the applied index (NodeStore.putBatches says why).
 */
import type { Entry, NodeId, Snapshot } from "../consensus/index.js";
import { CodecError, Reader, Writer } from "../codec/index.js";
import { appRecordsOf, type AppliedRecord } from "../domain/index.js";

/** Version byte of an app snapshot; 1 was the batch state alone, 2 had no epoch keys (both still read). */
const SNAPSHOT_VERSION = 3;
const SNAPSHOT_WITHOUT_EPOCH_KEYS = 2;
const LEGACY_BATCH_SNAPSHOT = 1;
/** Settled epochs kept (and snapshotted): enough for the epochs a node can still act on. */
const EPOCH_LEADERS_KEPT = 8;

/** What the machine needs of the batch state. */
export interface BatchStatePart {
  apply(entries: readonly Entry[], records: readonly AppliedRecord[]): Promise<void>;
  snapshotData(): Uint8Array;
  installSnapshot(snapshot: Snapshot): Promise<void>;
}

/** What the machine needs of the certificates and indexes (`CommitmentService`). */
export interface CertificatePart {
  apply(entries: readonly Entry[], records: readonly AppliedRecord[]): Promise<void>;
  /** Next position without a certificate applied from the log: what a snapshot must carry. */
  readonly nextUncertified: number;
  installSnapshot(snapshot: Snapshot, certifiedNext?: number): Promise<void>;
}

/** What the machine needs of the epochs' key generation (`EpochKeys`). */
export interface EpochKeysPart {
  apply(records: readonly AppliedRecord[]): Promise<void>;
  snapshotData(): Uint8Array;
  installSnapshot(data: Uint8Array): Promise<void>;
}

/** What the machine needs of the encrypted slots (`EncryptedSlots`). */
export interface EncryptedSlotsPart {
  apply(entries: readonly Entry[], records: readonly AppliedRecord[]): Promise<void>;
}

export interface AppStateMachineOptions {
  readonly batches: BatchStatePart;
  readonly commitments: CertificatePart;
  readonly epochKeys: EpochKeysPart;
  readonly encrypted?: EncryptedSlotsPart;
}

export class AppStateMachine {
  private readonly epochLeaders = new Map<number, NodeId>();
  private readonly settledListeners: ((epoch: number, leader: NodeId) => void)[] = [];

  constructor(private readonly opts: AppStateMachineOptions) {}

  /** Tells `listener` of every epoch-leader settlement applied or restored from now on. */
  onEpochLeader(listener: (epoch: number, leader: NodeId) => void): void {
    this.settledListeners.push(listener);
  }

  /** The leader settled for `epoch`, if one was recorded. */
  epochLeader(epoch: number): NodeId | undefined {
    return this.epochLeaders.get(epoch);
  }

  /** The latest settled epoch and its leader, if any (what the epoch manager rotates against). */
  latestSettlement(): { readonly epoch: number; readonly leader: NodeId } | undefined {
    if (this.epochLeaders.size === 0) return undefined;
    const epoch = Math.max(...this.epochLeaders.keys());
    return { epoch, leader: this.epochLeaders.get(epoch)! };
  }

  async apply(entries: readonly Entry[]): Promise<void> {
    const records = appRecordsOf(entries);
    await this.opts.batches.apply(entries, records);
    for (const { record } of records) if (record.kind === "epochLeader") this.settle(record.epoch, record.leader);
    await this.opts.epochKeys.apply(records);
    await this.opts.encrypted?.apply(entries, records);
    await this.opts.commitments.apply(entries, records);
  }

  /** All of the application state a node installing the snapshot needs beside the store's history. */
  snapshot(): Uint8Array {
    const batches = this.opts.batches.snapshotData();
    const epochKeys = this.opts.epochKeys.snapshotData();
    const w = new Writer(batches.length + epochKeys.length + 24 + this.epochLeaders.size * 64);
    w.u8(SNAPSHOT_VERSION);
    w.bytes(batches, batches.length, "batch state");
    w.varint(this.epochLeaders.size);
    for (const [epoch, leader] of this.epochLeaders) {
      w.varint(epoch, "epoch");
      w.string(leader, 64, "leader");
    }
    // Positions a leader died before certifying stay uncertified in the snapshot: whoever installs
    // it and leads must still certify them.
    w.varint(this.opts.commitments.nextUncertified, "certified next");
    w.bytes(epochKeys, epochKeys.length, "epoch keys");
    return w.finish();
  }

  /** Restores what `snapshot()` wrote (before the snapshot's applied index moves). */
  async restore(snapshot: Snapshot): Promise<void> {
    const { data } = snapshot;
    if (data.length === 0 || data[0] === LEGACY_BATCH_SNAPSHOT) {
      await this.opts.batches.installSnapshot(snapshot);
      await this.opts.commitments.installSnapshot(snapshot);
    } else {
      const r = new Reader(data, "app snapshot");
      const version = r.u8("version");
      if (version !== SNAPSHOT_VERSION && version !== SNAPSHOT_WITHOUT_EPOCH_KEYS) throw new CodecError(`app snapshot version ${version} is not supported (expected ${SNAPSHOT_VERSION})`);
      const batches = r.bytes(1 << 20, "batch state");
      const n = r.count(EPOCH_LEADERS_KEPT, 2, "epoch leader");
      const settled: [number, NodeId][] = [];
      for (let i = 0; i < n; i++) settled.push([r.varint("epoch"), r.string(64, "leader")]);
      const certifiedNext = r.varint("certified next");
      const epochKeys = version === SNAPSHOT_VERSION ? r.bytes(1 << 24, "epoch keys") : undefined;
      r.end();
      await this.opts.batches.installSnapshot({ meta: snapshot.meta, data: batches });
      if (epochKeys !== undefined) await this.opts.epochKeys.installSnapshot(epochKeys);
      for (const [epoch, leader] of settled) this.settle(epoch, leader);
      await this.opts.commitments.installSnapshot(snapshot, certifiedNext);
    }
  }

  private settle(epoch: number, leader: NodeId): void {
    this.epochLeaders.set(epoch, leader);
    while (this.epochLeaders.size > EPOCH_LEADERS_KEPT) this.epochLeaders.delete(Math.min(...this.epochLeaders.keys()));
    for (const listener of this.settledListeners) listener(epoch, leader);
  }
}
