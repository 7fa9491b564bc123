/**
 * Safety checker for simulated runs. It sees every apply, every snapshot install,
 * every durable hard state, every client-visible outcome and every leadership event,
 * across all nodes and all time (including restarts), and records violations.
 */
import type { Entry, HardState, MembershipConfig, NodeId, ProposalOutcome, Snapshot } from "../node/consensus/index.js";
import type { AppState } from "./app.js";

export interface Violation {
  readonly time: number;
  readonly node: NodeId | null;
  readonly property: string;
  readonly detail: string;
}

export class Checker {
  readonly violations: Violation[] = [];
  /** position -> hash, as first applied anywhere (property 1). */
  private readonly posHash: string[] = [];
  /** hash -> position, as first applied anywhere (property 4: one position per tx). */
  private readonly hashPos = new Map<string, number>();
  /** log index -> term of the committed entry (state machine safety over whole entries). */
  private readonly indexTerm: number[] = [];
  /** position -> hash a client was told is committed there (property 2). */
  readonly told = new Map<number, string>();
  private readonly toldHash = new Map<string, number>();
  /** term -> the node that became leader in it (property 3). */
  private readonly leaders = new Map<number, NodeId>();
  private readonly hardStates = new Map<NodeId, HardState>();
  /** term -> voter -> the candidate its durable hard state voted for in that term. */
  private readonly durableVotes = new Map<number, Map<NodeId, NodeId>>();
  now = 0;
  /** Called once, at the first violation (the simulator snapshots its trace there). */
  onFirstViolation: (() => void) | null = null;

  fail(node: NodeId | null, property: string, detail: string): void {
    this.violations.push({ time: this.now, node, property, detail });
    if (this.violations.length === 1) this.onFirstViolation?.();
  }

  get ok(): boolean {
    return this.violations.length === 0;
  }

  /** Hashes known committed somewhere: the global applied view. */
  committedPosition(hash: string): number | undefined {
    return this.hashPos.get(hash);
  }

  hashAt(position: number): string | undefined {
    return this.posHash[position];
  }

  get committedPositions(): number {
    return this.posHash.length;
  }

  onApply(node: NodeId, entry: Entry): void {
    const knownTerm = this.indexTerm[entry.index];
    if (knownTerm === undefined) this.indexTerm[entry.index] = entry.term;
    else if (knownTerm !== entry.term) {
      this.fail(node, "committed-entry-agreement", `applied entry ${entry.index}@t${entry.term}, another node applied ${entry.index}@t${knownTerm}`);
    }
    if (entry.kind !== "txs" || !entry.txs) return;
    for (let i = 0; i < entry.txs.length; i++) {
      this.onCommittedTx(node, entry.firstPosition + i, entry.txs[i].hash, `entry ${entry.index}@t${entry.term}`);
    }
  }

  /** A snapshot installed on a node must agree with everything applied anywhere. */
  onSnapshotRestore(node: NodeId, snapshot: Snapshot, app: AppState): void {
    const known = this.indexTerm[snapshot.meta.index];
    if (known !== undefined && known !== snapshot.meta.term) {
      this.fail(node, "committed-entry-agreement", `snapshot at ${snapshot.meta.index}@t${snapshot.meta.term}, committed entry there has term ${known}`);
    }
    for (let p = 0; p < app.hashes.length; p++) {
      this.onCommittedTx(node, p, app.hashes[p], `snapshot ${snapshot.meta.index}`);
    }
  }

  private onCommittedTx(node: NodeId, position: number, hash: string, where: string): void {
    const known = this.posHash[position];
    if (known === undefined) {
      if (position > this.posHash.length) {
        this.fail(node, "positions-gap-free", `${where} commits position ${position} but only ${this.posHash.length} positions were ever committed`);
      }
      this.posHash[position] = hash;
    } else if (known !== hash) {
      this.fail(node, "same-position-same-tx", `${where}: position ${position} holds ${short(hash)}, another node committed ${short(known)} there`);
    }
    const toldHash = this.told.get(position);
    if (toldHash !== undefined && toldHash !== hash) {
      this.fail(node, "commitment-kept", `${where}: position ${position} holds ${short(hash)}, a client was told ${short(toldHash)} is committed there`);
    }
    const pos = this.hashPos.get(hash);
    if (pos === undefined) this.hashPos.set(hash, position);
    else if (pos !== position) {
      this.fail(node, "one-position-per-tx", `${where}: tx ${short(hash)} committed at position ${position}, it already holds position ${pos}`);
    }
  }

  /** An outcome a client received from `node`; `app` is that node's applied view. */
  onOutcome(node: NodeId, outcome: ProposalOutcome, app: AppState): void {
    if (outcome.status !== "committed") return;
    const { txHash, position, index, term } = outcome;
    const prev = this.toldHash.get(txHash);
    if (prev !== undefined && prev !== position) {
      this.fail(node, "one-position-per-tx", `client told ${short(txHash)} committed at ${position}, it was told ${prev} before`);
    }
    const toldThere = this.told.get(position);
    if (toldThere !== undefined && toldThere !== txHash) {
      this.fail(node, "commitment-kept", `client told ${short(txHash)} committed at ${position}, another client was told ${short(toldThere)}`);
    }
    const applied = this.posHash[position];
    if (applied !== undefined && applied !== txHash) {
      this.fail(node, "commitment-kept", `client told ${short(txHash)} committed at ${position}, but ${short(applied)} is committed there`);
    }
    const knownTerm = this.indexTerm[index];
    if (knownTerm !== undefined && knownTerm !== term) {
      this.fail(node, "commitment-kept", `client told ${short(txHash)} committed in entry ${index}@t${term}, committed entry there has term ${knownTerm}`);
    }
    // The node promising a commitment must itself have applied it: it is retrievable there.
    if (app.positionOf(txHash) !== position) {
      this.fail(node, "commitment-retrievable", `client told ${short(txHash)} committed at ${position}, the node's applied view has it at ${app.positionOf(txHash) ?? "nothing"}`);
    }
    this.told.set(position, txHash);
    this.toldHash.set(txHash, position);
  }

  /**
   * Election safety (one leader per term) and leader completeness: a new leader's log
   * holds every entry committed so far (known from applies anywhere).
   */
  onBecameLeader(node: NodeId, term: number, log: { snapshotIndex: number; termAt: (index: number) => number | undefined }): void {
    const prev = this.leaders.get(term);
    if (prev !== undefined && prev !== node) {
      this.fail(node, "one-leader-per-term", `${node} became leader of term ${term}, ${prev} already led it`);
    }
    this.leaders.set(term, node);
    for (let i = log.snapshotIndex + 1; i < this.indexTerm.length; i++) {
      const committed = this.indexTerm[i];
      if (committed === undefined) continue;
      const t = log.termAt(i);
      if (t !== committed) {
        this.fail(node, "leader-completeness", `${node} became leader of term ${term} holding ${t === undefined ? "no entry" : `term ${t}`} at index ${i}, where ${i}@t${committed} is committed`);
        return;
      }
    }
  }

  /**
   * A commitment handed out for an entry committed just now must be durable on a quorum
   * (voters holding more than half of the stake, of both halves if joint) of one of `configs`.
   */
  onFreshCommitment(node: NodeId, outcome: { txHash: string; index: number; term: number }, configs: readonly MembershipConfig[], holds: (id: NodeId) => boolean): void {
    if (configs.some((c) => isStakeQuorum(c, holds))) return;
    const c = configs[0];
    const holders = [...new Set([...c.voters, ...(c.outgoing ?? [])])].filter(holds);
    this.fail(node, "commit-needs-durable-quorum", `${short(outcome.txHash)} reported committed in ${outcome.index}@t${outcome.term} while only ${holders.join(",") || "nobody"} of ${JSON.stringify(c)} hold it durably`);
  }

  /** A new leader of `term` holds the durable votes of a quorum (by stake) of one of `configs`. */
  onElected(node: NodeId, term: number, configs: readonly MembershipConfig[]): void {
    const votes = this.durableVotes.get(term);
    const votedForMe = (id: NodeId) => votes?.get(id) === node;
    if (configs.some((c) => isStakeQuorum(c, votedForMe))) return;
    const voters = [...(votes ?? [])].filter(([, v]) => v === node).map(([id]) => id);
    this.fail(node, "election-needs-quorum", `${node} became leader of term ${term} with the durable votes of ${voters.join(",") || "nobody"} in ${JSON.stringify(configs[0])}`);
  }

  /** Every durable hard state: term never goes back, one vote per term, commit never goes back. */
  onHardState(node: NodeId, hs: HardState, lastIndex: number): void {
    const prev = this.hardStates.get(node);
    if (prev) {
      if (hs.term < prev.term) this.fail(node, "term-monotonic", `durable term went from ${prev.term} to ${hs.term}`);
      if (hs.term === prev.term && prev.vote !== null && hs.vote !== prev.vote) {
        this.fail(node, "one-vote-per-term", `voted ${prev.vote} then ${hs.vote} in term ${hs.term}`);
      }
      if (hs.commit < prev.commit) this.fail(node, "commit-monotonic", `durable commit went from ${prev.commit} to ${hs.commit}`);
    }
    if (hs.commit > lastIndex) this.fail(node, "commit-within-log", `durable commit ${hs.commit} beyond durable last index ${lastIndex}`);
    this.hardStates.set(node, hs);
    if (hs.vote !== null) {
      let votes = this.durableVotes.get(hs.term);
      if (votes === undefined) this.durableVotes.set(hs.term, (votes = new Map()));
      votes.set(node, hs.vote);
    }
  }
}

/**
 * True when the voters satisfying `member` hold more than half of the stake of each half of
 * `c` (unweighted: one each). Written out here rather than taken from node/consensus/quorum.ts:
 * an oracle must not share the code it checks.
 */
export function isStakeQuorum(c: MembershipConfig, member: (id: NodeId) => boolean): boolean {
  const half = (ids: readonly NodeId[], weights: readonly string[] | undefined) => {
    let total = 0n;
    let held = 0n;
    ids.forEach((id, i) => {
      const w = BigInt(weights?.[i] ?? 1);
      total += w;
      if (member(id)) held += w;
    });
    return ids.length === 0 || 2n * held > total;
  };
  return half(c.voters, c.weights) && (c.outgoing === undefined || half(c.outgoing, c.outgoingWeights));
}

export function short(hash: string): string {
  return hash.length > 14 ? `${hash.slice(0, 10)}…${hash.slice(-4)}` : hash;
}
