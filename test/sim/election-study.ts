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
 */
import { isAtLeastAsComplete } from "../../node/consensus/index.js";

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
const MAJORITY = 3;
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
  /** Best vote count any candidate can reach (for showing why nobody wins). */
  readonly bestVotes: ReadonlyMap<number, readonly number[]>;
  /** New entries (1-based) that reached a majority of the cluster (leader included). */
  readonly majorityEntries: readonly number[];
  /** Electable candidates missing an entry that reached a majority: a safety violation. */
  readonly unsafeWinners: readonly number[];
}

export function positionOf(held: number): LogPosition {
  return held > 0
    ? { lastTerm: LEADER_TERM, lastIndex: BASE_INDEX + held }
    : { lastTerm: BASE_TERM, lastIndex: BASE_INDEX };
}

/** Explores every set of concurrent candidates and every vote assignment in one term. */
export function explore(scenario: Scenario, rule: VoteRule): ScenarioResult {
  const { live, held, m } = scenario;
  const pos = held.map(positionOf);
  const wins = new Map<number, Win>();
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
        if (voters.length > (bestVotes.get(c)?.length ?? 0)) bestVotes.set(c, voters);
        if (voters.length >= MAJORITY && !wins.has(c)) wins.set(c, { winner: c, candidates, voters });
      }
      let k = 0;
      while (k < pick.length && ++pick[k] === choices[k].length) pick[k++] = 0;
      if (k === pick.length) break;
    }
  }

  const majorityEntries: number[] = [];
  for (let e = 1; e <= m; e++) {
    if (held.filter((h) => h >= e).length >= MAJORITY) majorityEntries.push(e);
  }
  const unsafeWinners = [...wins.keys()].filter((w) => majorityEntries.some((e) => held[w] < e));
  return { scenario, wins, bestVotes, majorityEntries, unsafeWinners };
}

/** Every way the dead leader's m entries can be spread over the four followers. */
export function scenarios(m: number, leaderRestarted = false): Scenario[] {
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
    out.push({ m, held, live });
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
  const { held, live, m } = r.scenario;
  const nodes = live.map((n) => {
    const p = positionOf(held[n]);
    const tag = held[n] === m ? "with" : "without";
    return `n${n} ${tag} (lastTerm ${p.lastTerm}, lastIndex ${p.lastIndex})`;
  });
  const best = live.map((n) => `n${n}: ${r.bestVotes.get(n)!.length} [${r.bestVotes.get(n)!.map((v) => `n${v}`).join(",")}]`);
  return `live: ${nodes.join("; ")}\n  best vote count per candidate (need ${MAJORITY}): ${best.join("; ")}`;
}

export function formatStudy(rows: readonly StudyRow[]): string {
  const lines: string[] = [];
  lines.push("| rule | entries in flight (m) | old leader | j | states | latest entry on majority | leaderless states | unsafe states | electable candidates per state |");
  lines.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    lines.push(
      `| ${r.rule} | ${r.m} | ${r.leaderRestarted ? "restarted" : "dead"} | ${r.j} | ${r.states} | ${r.latestOnMajority} | ${r.leaderless} | ${r.unsafe} | ${r.electableMin === r.electableMax ? r.electableMin : `${r.electableMin}..${r.electableMax}`} |`,
    );
  }
  return lines.join("\n");
}
