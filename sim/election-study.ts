/**
 * Election-rule study: exhaustive small-scope exploration of who can win an election
 * after a leader dies mid-replication, under two vote-granting rules.
 *
 *   (a) literal:  grant only if the candidate's commitment state EQUALS mine
 *   (b) ours:     grant only if the candidate's state is AT LEAST AS COMPLETE as mine
 *                 (`isAtLeastAsComplete`: last term, then last index)
 *
 * Model: five voters n0..n4. n0 leads term 2 on top of a common prefix (index 10,
 * term 1), appends `m` entries (index 11.., term 2) and dies after its latest entry
 * reached `j` of the four followers (followers receive in order, so each holds a
 * prefix of the new entries). Any set of live nodes may campaign in the same term and
 * every live non-candidate may vote for at most one of them (or for none: message
 * lost, timed out); a candidate votes for itself. A candidate is *electable* if some
 * such assignment gives it a majority (3 of 5). Logs do not change while there is no
 * leader, so a state with no electable candidate stays leaderless forever.
 *
 * Weighted case: the same model with stakes, where a majority is a quorum by stake (the
 * voters holding more than half of it, `hasQuorum` of the core's quorum math), for an entry
 * to be committed as for a candidate to win.
 */
import { isAtLeastAsComplete, type MembershipConfig, type NodeId, type ProposalOutcome, type Tx, type Weight } from "../node/consensus/index.js";
import { hasQuorum } from "../node/consensus/quorum.js";
import type { Violation } from "./checker.js";
import { Cluster } from "./cluster.js";
import { Prng } from "./prng.js";

export interface LogPosition {
  readonly lastTerm: number;
  readonly lastIndex: number;
}

export type VoteRule = (candidate: LogPosition, voter: LogPosition) => boolean;

export const literalRule: VoteRule = (c, v) => c.lastTerm === v.lastTerm && c.lastIndex === v.lastIndex;
export const atLeastAsCompleteRule: VoteRule = (c, v) => isAtLeastAsComplete(c, v);

export const RULES: ReadonlyArray<{ readonly name: string; readonly label: string; readonly rule: VoteRule }> = [
  { name: "a", label: "(a) literal: equal state", rule: literalRule },
  { name: "b", label: "(b) ours: isAtLeastAsComplete", rule: atLeastAsCompleteRule },
];

const CLUSTER = 5;
const BASE_INDEX = 10;
const BASE_TERM = 1;
const LEADER_TERM = 2;

/** One explored state: how many of the dead leader's new entries each node holds. */
export interface Scenario {
  /** Entries the leader appended in its term before dying. */
  readonly m: number;
  /** held[i] = number of the new entries node i holds (n0 = the dead leader, holds all m). */
  readonly held: readonly number[];
  /** Nodes that can take part (the dead leader excluded unless it restarted). */
  readonly live: readonly number[];
  /** weights[i] = the stake of node i (all 1: the classic head count). */
  readonly weights: readonly number[];
}

/** Stakes of n0..n4 (n0 is the leader that dies). */
export interface StakeCase {
  readonly name: string;
  readonly weights: readonly number[];
}

export const EQUAL_STAKES: StakeCase = { name: "equal", weights: [1, 1, 1, 1, 1] };

export const STAKE_CASES: readonly StakeCase[] = [
  EQUAL_STAKES,
  { name: "skewed", weights: [3, 1, 4, 1, 5] },
  { name: "heavy follower", weights: [1, 6, 1, 1, 1] },
  // Two large operators and three sybils at the minimum stake: the sybils are 3 of 5 heads, 3 of 203.
  { name: "sybils", weights: [100, 100, 1, 1, 1] },
  // The dead leader held more than half: the live nodes are a stake minority and must not elect.
  { name: "heavy leader", weights: [6, 1, 1, 1, 1] },
];

/** How a vote or a replica set counts: by stake (the core's rule) or by heads (the control). */
export type Counting = "stake" | "heads";

function quorumOf(weights: readonly number[], counting: Counting): (members: readonly number[]) => boolean {
  const config: MembershipConfig = {
    voters: weights.map((_, i) => `n${i}`),
    weights: (counting === "stake" ? weights : weights.map(() => 1)).map(String),
    learners: [],
  };
  return (members) => hasQuorum(config, (id) => members.includes(Number(id.slice(1))));
}

/** A winning election: who campaigned and who voted for the winner. */
export interface Win {
  readonly winner: number;
  readonly candidates: readonly number[];
  readonly voters: readonly number[];
}

export interface ScenarioResult {
  readonly scenario: Scenario;
  /** Electable candidates with one witness election each. */
  readonly wins: ReadonlyMap<number, Win>;
  /** The heaviest vote any candidate can reach (for showing why nobody wins). */
  readonly bestVotes: ReadonlyMap<number, readonly number[]>;
  /** New entries (1-based) durable on a quorum by stake (leader included): possibly committed. */
  readonly majorityEntries: readonly number[];
  /** Electable candidates missing an entry that reached a quorum: a safety violation. */
  readonly unsafeWinners: readonly number[];
  /** The live nodes hold a quorum by stake: an election is possible at all. */
  readonly liveQuorum: boolean;
  /** Candidates electable by voters holding no more than half of the stake (only when counting heads). */
  readonly minorityWinners: readonly number[];
}

export function positionOf(held: number): LogPosition {
  return held > 0
    ? { lastTerm: LEADER_TERM, lastIndex: BASE_INDEX + held }
    : { lastTerm: BASE_TERM, lastIndex: BASE_INDEX };
}

/**
 * Explores every set of concurrent candidates and every vote assignment in one term. A candidate
 * wins with a quorum counted by `counting`; entries count as committed on a quorum by stake.
 */
export function explore(scenario: Scenario, rule: VoteRule, counting: Counting = "stake"): ScenarioResult {
  const { live, held, m, weights } = scenario;
  const byStake = quorumOf(weights, "stake");
  const electing = quorumOf(weights, counting);
  const stakeOf = (ids: readonly number[]) => ids.reduce((sum, i) => sum + weights[i], 0);
  const pos = held.map(positionOf);
  const wins = new Map<number, Win>();
  const minorityWinners = new Set<number>();
  const bestVotes = new Map<number, number[]>();
  for (const c of live) bestVotes.set(c, [c]);

  for (let mask = 1; mask < 1 << live.length; mask++) {
    const candidates = live.filter((_, i) => mask & (1 << i));
    const others = live.filter((_, i) => !(mask & (1 << i)));
    // Each non-candidate picks one candidate that it would grant, or nobody.
    const choices = others.map((v) => [-1, ...candidates.filter((c) => rule(pos[c], pos[v]))]);
    const pick = new Array<number>(others.length).fill(0);
    for (;;) {
      for (const c of candidates) {
        const voters = [c, ...others.filter((_, k) => choices[k][pick[k]] === c)];
        if (stakeOf(voters) > stakeOf(bestVotes.get(c) ?? [])) bestVotes.set(c, voters);
        if (!electing(voters)) continue;
        if (!wins.has(c)) wins.set(c, { winner: c, candidates, voters });
        if (!byStake(voters)) minorityWinners.add(c);
      }
      let k = 0;
      while (k < pick.length && ++pick[k] === choices[k].length) pick[k++] = 0;
      if (k === pick.length) break;
    }
  }

  const majorityEntries: number[] = [];
  for (let e = 1; e <= m; e++) {
    if (byStake(held.flatMap((h, i) => (h >= e ? [i] : [])))) majorityEntries.push(e);
  }
  const unsafeWinners = [...wins.keys()].filter((w) => majorityEntries.some((e) => held[w] < e));
  return { scenario, wins, bestVotes, majorityEntries, unsafeWinners, liveQuorum: byStake(live), minorityWinners: [...minorityWinners] };
}

/** Every way the dead leader's m entries can be spread over the four followers. */
export function scenarios(m: number, leaderRestarted = false, stakes: StakeCase = EQUAL_STAKES): Scenario[] {
  const out: Scenario[] = [];
  const followers = CLUSTER - 1;
  const total = (m + 1) ** followers;
  for (let code = 0; code < total; code++) {
    const held = [m];
    let x = code;
    for (let f = 0; f < followers; f++) {
      held.push(x % (m + 1));
      x = Math.floor(x / (m + 1));
    }
    const live = leaderRestarted ? [0, 1, 2, 3, 4] : [1, 2, 3, 4];
    out.push({ m, held, live, weights: stakes.weights });
  }
  return out;
}

/** j = number of followers holding the leader's latest entry. */
export function latestReach(s: Scenario): number {
  return s.held.slice(1).filter((h) => h === s.m).length;
}

export interface StudyRow {
  readonly rule: string;
  readonly m: number;
  readonly leaderRestarted: boolean;
  readonly j: number;
  readonly states: number;
  /** States in which no candidate can ever collect a majority. */
  readonly leaderless: number;
  /** States in which some electable candidate lacks a majority-replicated entry. */
  readonly unsafe: number;
  /** States in which the latest entry reached a majority. */
  readonly latestOnMajority: number;
  /** Union over states of how many distinct live nodes were electable (min..max). */
  readonly electableMin: number;
  readonly electableMax: number;
  /** First leaderless state, for printing. */
  readonly leaderlessExample?: ScenarioResult;
}

export function runStudy(ms: readonly number[] = [1, 2], restartVariants: readonly boolean[] = [false, true]): StudyRow[] {
  const rows: StudyRow[] = [];
  for (const { name, rule } of RULES) {
    for (const m of ms) {
      for (const leaderRestarted of restartVariants) {
        const byJ = new Map<number, ScenarioResult[]>();
        for (const s of scenarios(m, leaderRestarted)) {
          const r = explore(s, rule);
          const j = latestReach(s);
          if (!byJ.has(j)) byJ.set(j, []);
          byJ.get(j)!.push(r);
        }
        for (const j of [...byJ.keys()].sort((x, y) => x - y)) {
          const results = byJ.get(j)!;
          const sizes = results.map((r) => r.wins.size);
          rows.push({
            rule: name,
            m,
            leaderRestarted,
            j,
            states: results.length,
            leaderless: results.filter((r) => r.wins.size === 0).length,
            unsafe: results.filter((r) => r.unsafeWinners.length > 0).length,
            latestOnMajority: results.filter((r) => r.majorityEntries.includes(m)).length,
            electableMin: Math.min(...sizes),
            electableMax: Math.max(...sizes),
            leaderlessExample: results.find((r) => r.wins.size === 0),
          });
        }
      }
    }
  }
  return rows;
}

export function describeState(r: ScenarioResult): string {
  const { held, live, m, weights } = r.scenario;
  const nodes = live.map((n) => {
    const p = positionOf(held[n]);
    const tag = held[n] === m ? "with" : "without";
    return `n${n} ${tag} (lastTerm ${p.lastTerm}, lastIndex ${p.lastIndex})`;
  });
  const stakeOf = (ids: readonly number[]) => ids.reduce((sum, i) => sum + weights[i], 0);
  const best = live.map((n) => `n${n}: ${stakeOf(r.bestVotes.get(n)!)} [${r.bestVotes.get(n)!.map((v) => `n${v}`).join(",")}]`);
  return `live: ${nodes.join("; ")}\n  best vote per candidate (need more than ${stakeOf(weights.map((_, i) => i)) / 2}): ${best.join("; ")}`;
}

/** A markdown table: the header's cells, then one row of cells per line. */
function markdownTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

export function formatStudy(rows: readonly StudyRow[]): string {
  return markdownTable(
    ["rule", "entries in flight (m)", "old leader", "j", "states", "latest entry on majority", "leaderless states", "unsafe states", "electable candidates per state"],
    rows.map((r) => [
      r.rule,
      r.m,
      r.leaderRestarted ? "restarted" : "dead",
      r.j,
      r.states,
      r.latestOnMajority,
      r.leaderless,
      r.unsafe,
      r.electableMin === r.electableMax ? r.electableMin : `${r.electableMin}..${r.electableMax}`,
    ]),
  );
}

export interface WeightedStudyRow {
  readonly stakes: string;
  readonly counting: Counting;
  readonly m: number;
  readonly leaderRestarted: boolean;
  readonly states: number;
  /** States whose live nodes hold a quorum by stake. */
  readonly liveQuorum: number;
  /** Leaderless states although the live nodes hold a quorum: the rule is not live. */
  readonly leaderlessWithQuorum: number;
  /** Leaderless states whose live nodes hold no quorum (as it must be). */
  readonly leaderlessWithoutQuorum: number;
  /** States with an electable candidate lacking an entry durable on a quorum by stake. */
  readonly unsafe: number;
  /** States with a candidate electable by voters holding no more than half of the stake. */
  readonly minorityElects: number;
}

/**
 * Rule (b) under every stake case, m = 1 and 2, old leader dead or restarted; the sybil case
 * also with head-count elections (the control: what counting heads would let through).
 */
export function runWeightedStudy(): WeightedStudyRow[] {
  const rows: WeightedStudyRow[] = [];
  for (const stakes of STAKE_CASES) {
    for (const counting of stakes.name === "sybils" ? (["stake", "heads"] as const) : (["stake"] as const)) {
      for (const m of [1, 2]) {
        for (const leaderRestarted of [false, true]) {
          const results = scenarios(m, leaderRestarted, stakes).map((sc) => explore(sc, atLeastAsCompleteRule, counting));
          rows.push({
            stakes: stakes.name,
            counting,
            m,
            leaderRestarted,
            states: results.length,
            liveQuorum: results.filter((r) => r.liveQuorum).length,
            leaderlessWithQuorum: results.filter((r) => r.liveQuorum && r.wins.size === 0).length,
            leaderlessWithoutQuorum: results.filter((r) => !r.liveQuorum && r.wins.size === 0).length,
            unsafe: results.filter((r) => r.unsafeWinners.length > 0).length,
            minorityElects: results.filter((r) => r.minorityWinners.length > 0).length,
          });
        }
      }
    }
  }
  return rows;
}

export function formatWeightedStudy(rows: readonly WeightedStudyRow[]): string {
  return markdownTable(
    ["stakes (n0..n4)", "elections count", "m", "old leader", "states", "live nodes hold a quorum", "leaderless, live quorum", "leaderless, no live quorum", "unsafe states", "a stake minority elects"],
    rows.map((r) => [
      `${r.stakes} ${STAKE_CASES.find((c) => c.name === r.stakes)!.weights.join("/")}`,
      r.counting,
      r.m,
      r.leaderRestarted ? "restarted" : "dead",
      r.states,
      r.liveQuorum,
      r.leaderlessWithQuorum,
      r.leaderlessWithoutQuorum,
      r.unsafe,
      r.minorityElects,
    ]),
  );
}

// ---------------------------------------------------------------- the real core, j = 0..4

export interface CoreScenarioResult {
  readonly j: number;
  readonly seed: number;
  readonly oldLeader: NodeId;
  /** Followers durably holding the entry when the leader died. */
  readonly holders: readonly NodeId[];
  /** The leader and those followers held a quorum by stake: the entry may have been committed. */
  readonly onQuorum: boolean;
  /** Position the dead leader had assigned to the transaction. */
  readonly assignedPosition: number;
  /** A client was told the transaction is committed before the crash (must never happen). */
  readonly toldBeforeCrash: boolean;
  readonly newLeader: NodeId | null;
  /** The new leader's durable log held the entry when it won. */
  readonly newLeaderHeld: boolean;
  /** Ticks from the crash to the new leader. */
  readonly electionTicks: number | null;
  /** Where the live nodes applied the transaction once converged (null: absent everywhere). */
  readonly survivedAt: number | null;
  /** Position a client got back when resubmitting the transaction to the new leader. */
  readonly resubmittedAt: number | null;
  /** Position on all five nodes after the old leader restarted and everyone converged. */
  readonly finalPosition: number | null;
  readonly violations: readonly Violation[];
  readonly trace: string | null;
}

const SCENARIO_NODES = 5;

/**
 * A 5-node cluster with a stable leader; one transaction is proposed and its entry
 * reaches exactly `j` followers durably (appends to the others and every reply to the
 * leader are dropped, so it cannot commit); then the leader crashes and stays down
 * while the other four elect a leader. Afterwards the client resubmits the transaction,
 * the old leader restarts, and all five converge. The checker runs throughout. With
 * `weights` (n0..n4's stakes) quorums are by stake, so whether the j followers and the
 * leader held a quorum depends on who they are (`onQuorum`).
 */
export function runCoreScenario(j: number, seed: number, weights?: readonly Weight[]): CoreScenarioResult {
  if (!Number.isInteger(j) || j < 0 || j > SCENARIO_NODES - 1) throw new RangeError(`j must be 0..4, got ${j}`);
  const cluster = new Cluster({ seed, nodes: SCENARIO_NODES, ...(weights ? { weights } : {}), compactEvery: 0, traceCapacity: 400 });
  const rng = new Prng(seed ^ 0x7a11);
  const tick = cluster.tickMs;
  const outcomes: ProposalOutcome[] = [];
  const leaderEvents: Array<{ node: NodeId; term: number; time: number; held: boolean }> = [];
  let entryIndex = -1;
  let entryTerm = -1;
  cluster.listeners.push({
    onOutcome: (_n, o) => outcomes.push(o),
    onEvent: (n, ev) => {
      if (ev.type === "becameLeader") {
        leaderEvents.push({ node: n.id, term: ev.term, time: cluster.now, held: entryIndex > 0 && n.durablyHolds(entryIndex, entryTerm) });
      }
    },
  });
  const fail = (msg: string): never => {
    throw new ScenarioError(`scenario j=${j} seed=${seed}: ${msg}\n${cluster.trace.format(60)}`);
  };

  // 1. A leader, and one committed transaction so that every node has a non-empty log.
  const warm = scenarioTx(seed, 0);
  if (!cluster.runFor(300 * tick, () => cluster.leaders().length === 1)) fail("no initial leader");
  const leader = cluster.leaders()[0];
  cluster.propose(leader.id, [warm]);
  const allApplied = (hash: string, ids: readonly NodeId[]) => ids.every((id) => cluster.node(id).app.positionOf(hash) !== undefined);
  if (!cluster.runFor(300 * tick, () => allApplied(warm.hash, cluster.initialVoters))) fail("warm-up tx did not commit everywhere");

  // 2. The transaction under test reaches exactly j followers.
  const followers = rng.shuffle(cluster.initialVoters.filter((id) => id !== leader.id));
  const holders = followers.slice(0, j);
  const tx = scenarioTx(seed, 1);
  cluster.filter = (m) => {
    if (m.to === leader.id) return false; // the leader never learns who holds it: it cannot commit
    if (m.from === leader.id && m.type === "append" && !holders.includes(m.to)) {
      for (const e of m.entries) {
        if (e.txs?.some((t) => t.hash === tx.hash)) {
          entryIndex = e.index;
          entryTerm = e.term;
        }
      }
      if (entryIndex > 0 && m.entries.some((e) => e.index >= entryIndex)) return false;
    }
    return true;
  };
  cluster.propose(leader.id, [tx]);
  const located = () => {
    if (entryIndex > 0) return true;
    const e = leader.store.entries.find((x) => x.txs?.some((t) => t.hash === tx.hash));
    if (e) {
      entryIndex = e.index;
      entryTerm = e.term;
    }
    return e !== undefined;
  };
  const reached = () => located() && leader.durablyHolds(entryIndex, entryTerm) && holders.every((id) => cluster.node(id).durablyHolds(entryIndex, entryTerm));
  if (!cluster.runFor(5 * tick, reached) && !reached()) fail(`entry did not reach the ${j} chosen followers`);
  const assignedPosition = leader.store.entries.find((e) => e.index === entryIndex)!.firstPosition;
  const toldBeforeCrash = outcomes.some((o) => o.txHash === tx.hash && o.status === "committed");

  // 3. The leader dies; the network is clean again.
  cluster.crash(leader.id);
  cluster.filter = null;
  const crashedAt = cluster.now;
  const live = cluster.initialVoters.filter((id) => id !== leader.id);
  const newLeaderUp = () => cluster.leaders().some((n) => n.id !== leader.id);
  cluster.runFor(300 * tick, newLeaderUp);
  // Let the new leader commit its no-op (and with it whatever it inherited).
  const settled = () => {
    const l = cluster.leaders()[0];
    if (!l) return false;
    const s = l.core!.status();
    return s.commit === s.lastIndex && live.every((id) => cluster.node(id).app.applied === s.commit);
  };
  cluster.runFor(300 * tick, settled);
  // The becameLeader event leaves with the Ready that persists the new term's no-op.
  const won = leaderEvents.find((e) => e.time >= crashedAt);
  const newLeader = won?.node ?? null;
  const positions = live.map((id) => cluster.node(id).app.positionOf(tx.hash));
  const survivedAt = positions.every((p) => p === positions[0]) ? (positions[0] ?? null) : -1;
  if (survivedAt === -1) cluster.checker.fail(null, "logs-converge", `live nodes disagree on ${tx.hash}: ${JSON.stringify(positions)}`);

  // 4. The client, never told, resubmits: it must get one position (the surviving one, if any).
  let resubmittedAt: number | null = null;
  const answered = () => outcomes.some((o) => o.txHash === tx.hash && o.status === "committed");
  for (let attempt = 0; attempt < 20 && !answered(); attempt++) {
    const target = cluster.leaders()[0]?.id ?? live[0];
    cluster.propose(target, [tx]);
    cluster.runFor(30 * tick, answered);
  }
  const told = outcomes.find((o) => o.txHash === tx.hash && o.status === "committed");
  if (told?.status === "committed") resubmittedAt = told.position;

  // 5. The old leader comes back; all five converge.
  cluster.restart(leader.id);
  const converged = () => {
    const l = cluster.leaders()[0];
    if (!l) return false;
    const s = l.core!.status();
    return cluster.initialVoters.every((id) => {
      const n = cluster.node(id);
      return n.up && n.app.applied === s.lastIndex && n.core!.status().lastIndex === s.lastIndex;
    });
  };
  cluster.runFor(500 * tick, converged);
  let finalPosition: number | null = null;
  if (!converged()) cluster.checker.fail(null, "convergence", "the five nodes did not converge after the old leader restarted");
  else {
    const finals = cluster.initialVoters.map((id) => cluster.node(id).app.positionOf(tx.hash));
    if (finals.some((p) => p !== finals[0])) cluster.checker.fail(null, "logs-converge", `nodes disagree on ${tx.hash}: ${JSON.stringify(finals)}`);
    finalPosition = finals[0] ?? null;
  }

  return {
    j,
    seed,
    oldLeader: leader.id,
    holders,
    onQuorum: hasQuorum(leader.config, (id) => id === leader.id || holders.includes(id)),
    assignedPosition,
    toldBeforeCrash,
    newLeader,
    newLeaderHeld: won?.held ?? false,
    electionTicks: won ? (won.time - crashedAt) / tick : null,
    survivedAt: survivedAt === -1 ? null : survivedAt,
    resubmittedAt,
    finalPosition,
    violations: cluster.checker.violations,
    trace: cluster.checker.ok ? null : (cluster.traceAtFailure ?? cluster.trace.format()),
  };
}

export class ScenarioError extends Error {
  override readonly name = "ScenarioError";
}

function scenarioTx(seed: number, n: number): Tx {
  const hash = `0x${"5c".repeat(4)}${(seed >>> 0).toString(16).padStart(8, "0")}${n.toString(16).padStart(48, "0")}`;
  return { hash, data: new Uint8Array([n]) };
}

export interface CoreStudyRow {
  readonly j: number;
  readonly runs: number;
  /** Runs in which the leader and the j holders held a quorum by stake. */
  readonly onQuorum: number;
  /** Of those, runs whose new leader held the entry (must be all). */
  readonly onQuorumHeld: number;
  readonly elected: number;
  readonly newLeaderHeld: number;
  readonly survivedAtAssigned: number;
  readonly absentUntilResubmitted: number;
  readonly toldBeforeCrash: number;
  readonly resubmitConsistent: number;
  readonly violations: number;
  readonly electionTicks: readonly number[];
}

/** `weights`: n0..n4's stakes (no voter above half: a lone leader must not commit X). */
export function runCoreStudy(runsPerJ: number, firstSeed = 1, weights?: readonly Weight[]): CoreStudyRow[] {
  const rows: CoreStudyRow[] = [];
  for (let j = 0; j <= 4; j++) {
    const results = Array.from({ length: runsPerJ }, (_, k) => runCoreScenario(j, firstSeed + k, weights));
    rows.push({
      j,
      runs: results.length,
      onQuorum: results.filter((r) => r.onQuorum).length,
      onQuorumHeld: results.filter((r) => r.onQuorum && r.newLeaderHeld).length,
      elected: results.filter((r) => r.newLeader !== null).length,
      newLeaderHeld: results.filter((r) => r.newLeaderHeld).length,
      survivedAtAssigned: results.filter((r) => r.survivedAt === r.assignedPosition).length,
      absentUntilResubmitted: results.filter((r) => r.survivedAt === null).length,
      toldBeforeCrash: results.filter((r) => r.toldBeforeCrash).length,
      resubmitConsistent: results.filter((r) => r.resubmittedAt !== null && (r.survivedAt === null || r.resubmittedAt === r.survivedAt) && r.finalPosition === r.resubmittedAt).length,
      violations: results.filter((r) => r.violations.length > 0).length,
      electionTicks: results.flatMap((r) => (r.electionTicks === null ? [] : [r.electionTicks])),
    });
  }
  return rows;
}

export function formatCoreStudy(rows: readonly CoreStudyRow[]): string {
  return markdownTable(
    ["j", "runs", "entry on a quorum", "leader elected", "new leader held the entry (when on a quorum)", "survived at its position", "absent until resubmitted", "client told before crash", "resubmission got one position", "runs with violations", "election ticks p50 / max"],
    rows.map((r) => {
      const t = [...r.electionTicks].sort((a, b) => a - b);
      const p50 = t.length ? t[Math.floor(t.length / 2)].toFixed(1) : "-";
      const max = t.length ? t[t.length - 1].toFixed(1) : "-";
      return [r.j, r.runs, r.onQuorum, r.elected, `${r.newLeaderHeld} (${r.onQuorumHeld} of ${r.onQuorum})`, r.survivedAtAssigned, r.absentUntilResubmitted, r.toldBeforeCrash, r.resubmitConsistent, r.violations, `${p50} / ${max}`];
    }),
  );
}

// ---------------------------------------------------------------- a stake minority of voters

const TOKEN = 10n ** 18n;
/** The review's case at five seats: two operators of 100k tokens, three sybils at the 100-token minimum. */
export const SYBIL_STAKES: readonly Weight[] = [100_000n, 100_000n, 100n, 100n, 100n].map((t) => String(t * TOKEN));

export interface SideResult {
  /** becameLeader events on this side while cut off. */
  readonly elected: number;
  /** Transactions proposed to this side while cut off that it reported committed. */
  readonly committed: number;
}

export interface StakeMinorityResult {
  readonly seed: number;
  readonly weighted: boolean;
  /** n0, n1: 200k tokens, 2 of 5 heads. */
  readonly heavy: SideResult;
  /** n2..n4: 300 tokens, 3 of 5 heads. */
  readonly light: SideResult;
  /** Every node applied the same log after the heal. */
  readonly converged: boolean;
  readonly violations: readonly Violation[];
  readonly trace: string | null;
}

/**
 * Five voters with SYBIL_STAKES (or, `weighted` false, the control: the same five counting
 * heads). Once a leader is stable the network is cut between the large operators and the
 * sybils for 30 election timeouts while a client proposes a transaction to each side every
 * few ticks; then it heals and all five converge. The checker runs throughout.
 */
export function runStakeMinorityScenario(seed: number, weighted: boolean): StakeMinorityResult {
  const cluster = new Cluster({ seed, nodes: SCENARIO_NODES, ...(weighted ? { weights: SYBIL_STAKES } : {}), compactEvery: 0, traceCapacity: 400 });
  const tick = cluster.tickMs;
  const heavy = ["n0", "n1"];
  const light = ["n2", "n3", "n4"];
  const settled = () => {
    const l = cluster.leaders()[0];
    if (!l || cluster.leaders().length !== 1) return false;
    const s = l.core!.status();
    return s.commit === s.lastIndex && cluster.nodes.every((n) => !n.member || n.app.applied === s.commit);
  };
  if (!cluster.runFor(300 * tick, settled)) throw new ScenarioError(`stake-minority scenario seed=${seed}: no stable leader\n${cluster.trace.format(60)}`);

  const proposedTo = new Map<string, readonly NodeId[]>();
  const sides = { heavy: { elected: 0, committed: 0 }, light: { elected: 0, committed: 0 } };
  const sideOf = (id: NodeId) => (heavy.includes(id) ? sides.heavy : sides.light);
  let cut = true;
  cluster.listeners.push({
    onEvent: (n, ev) => {
      if (cut && ev.type === "becameLeader") sideOf(n.id).elected++;
    },
    onOutcome: (n, o) => {
      if (cut && o.status === "committed" && proposedTo.get(o.txHash)?.includes(n.id)) sideOf(n.id).committed++;
    },
  });
  cluster.partition([heavy, light]);
  let counter = 2;
  const propose = () => {
    if (!cut) return;
    for (const side of [heavy, light]) {
      const target = side.find((id) => cluster.status(id)?.role === "leader") ?? side[counter % side.length]!;
      const tx = scenarioTx(seed, counter++);
      proposedTo.set(tx.hash, side);
      cluster.propose(target, [tx]);
    }
    cluster.schedule(3 * tick, propose);
  };
  propose();
  cluster.runFor(30 * cluster.electionTicks * tick);
  cut = false;
  cluster.heal();
  const converged = () => {
    const l = cluster.leaders()[0];
    if (!l) return false;
    const last = l.core!.status().lastIndex;
    return cluster.nodes.every((n) => !n.member || (n.app.applied === last && n.core!.status().lastIndex === last));
  };
  cluster.runFor(500 * tick, converged);
  return {
    seed,
    weighted,
    heavy: sides.heavy,
    light: sides.light,
    converged: converged(),
    violations: cluster.checker.violations,
    trace: cluster.checker.ok ? null : (cluster.traceAtFailure ?? cluster.trace.format()),
  };
}

export interface StakeMinorityRow {
  readonly weighted: boolean;
  readonly runs: number;
  /** Runs in which the side elected a leader / committed anything while cut off. */
  readonly heavyElected: number;
  readonly heavyCommitted: number;
  readonly lightElected: number;
  readonly lightCommitted: number;
  readonly converged: number;
  readonly violations: number;
}

export function runStakeMinorityStudy(runs: number, firstSeed = 1): StakeMinorityRow[] {
  return [true, false].map((weighted) => {
    const results = Array.from({ length: runs }, (_, k) => runStakeMinorityScenario(firstSeed + k, weighted));
    return {
      weighted,
      runs,
      heavyElected: results.filter((r) => r.heavy.elected > 0).length,
      heavyCommitted: results.filter((r) => r.heavy.committed > 0).length,
      lightElected: results.filter((r) => r.light.elected > 0).length,
      lightCommitted: results.filter((r) => r.light.committed > 0).length,
      converged: results.filter((r) => r.converged).length,
      violations: results.filter((r) => r.violations.length > 0).length,
    };
  });
}

export function formatStakeMinorityStudy(rows: readonly StakeMinorityRow[]): string {
  return markdownTable(
    ["quorums count", "runs", "large operators (2 of 5 heads, 99.85 % of stake): elected / committed", "sybils (3 of 5 heads, 0.15 %): elected / committed", "converged after the heal", "runs with violations"],
    rows.map((r) => [r.weighted ? "stake" : "heads (control)", r.runs, `${r.heavyElected} / ${r.heavyCommitted}`, `${r.lightElected} / ${r.lightCommitted}`, r.converged, r.violations]),
  );
}
