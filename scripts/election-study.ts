/**
 * Election-rule study (docs/election-rule-study.md): exhaustive exploration of which
 * candidates can win after a leader dies mid-replication, under the literal "equal
 * commitment state" rule and under ours (isAtLeastAsComplete); then the real core in
 * the same scenario for j = 0..4; then both again with stake-weighted quorums, and a stake
 * minority of voters (sybils) cut off from the stake.
 *
 *   npm run study                 # 50 core runs per j (and per stake case)
 *   npm run study -- --runs 200
 */
import { parseArgs } from "node:util";
import {
  SYBIL_STAKES,
  describeState,
  formatCoreStudy,
  formatStakeMinorityStudy,
  formatStudy,
  formatWeightedStudy,
  runCoreStudy,
  runStakeMinorityStudy,
  runStudy,
  runWeightedStudy,
} from "../sim/election-study.js";

const { values } = parseArgs({ options: { runs: { type: "string" } }, strict: true });
const runs = values.runs === undefined ? 50 : Number(values.runs);
if (!Number.isSafeInteger(runs) || runs < 1) {
  console.error(`study: --runs must be a positive integer, got ${JSON.stringify(values.runs)}`);
  process.exit(2);
}

const rows = runStudy();
console.log("Exhaustive exploration (5 voters, leader n0 dies; j = followers holding its latest entry)\n");
console.log(formatStudy(rows));
const stuck = rows.find((r) => r.rule === "a" && r.m === 1 && !r.leaderRestarted && r.j === 2)?.leaderlessExample;
if (stuck) {
  console.log("\nRule (a), j = 2, no electable leader:");
  console.log(`  ${describeState(stuck)}`);
}
const totals = (rule: string) => rows.filter((r) => r.rule === rule).reduce((a, r) => ({ states: a.states + r.states, leaderless: a.leaderless + r.leaderless, unsafe: a.unsafe + r.unsafe }), { states: 0, leaderless: 0, unsafe: 0 });
for (const rule of ["a", "b"]) {
  const t = totals(rule);
  console.log(`rule (${rule}): ${t.states} states, ${t.leaderless} leaderless, ${t.unsafe} unsafe`);
}

console.log(`\nReal core, targeted simulator scenario (${runs} seeds per j):\n`);
console.log(formatCoreStudy(runCoreStudy(runs)));

console.log("\nWeighted: exhaustive exploration under rule (b), quorums by stake (the sybil case also counting heads)\n");
console.log(formatWeightedStudy(runWeightedStudy()));
for (const [name, weights] of [
  ["sybils (SYBIL_STAKES: 100k / 100k / 100 / 100 / 100 tokens)", SYBIL_STAKES],
  ["skewed (3 / 1 / 4 / 1 / 5)", ["3", "1", "4", "1", "5"]],
] as const) {
  console.log(`\nReal core, weighted, stakes ${name}, ${runs} seeds per j:\n`);
  console.log(formatCoreStudy(runCoreStudy(runs, 1, weights)));
}
console.log(`\nReal core, the sybils cut off from the large operators for 30 election timeouts (${runs} seeds):\n`);
console.log(formatStakeMinorityStudy(runStakeMinorityStudy(runs)));
