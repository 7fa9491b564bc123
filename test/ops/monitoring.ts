/**
 * The shipped monitoring files as the tests read them: the alert rules, the Grafana dashboard,
 * and the metric names their PromQL expressions reference.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { load } from "js-yaml";

const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
export const ALERTS_FILE = path.join(REPO_ROOT, "ops/prometheus/alerts.yml");
export const ALERTS_TEST_FILE = path.join(REPO_ROOT, "ops/prometheus/alerts.test.yml");
export const DASHBOARD_FILE = path.join(REPO_ROOT, "ops/grafana/sequencer.json");

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
}

export function alertRules(file = ALERTS_FILE): AlertRule[] {
  const doc = load(readFileSync(file, "utf8")) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

/** Every `expr` of the dashboard's panels. */
export function dashboardExpressions(file = DASHBOARD_FILE): string[] {
  const dashboard = JSON.parse(readFileSync(file, "utf8")) as { panels: { title: string; targets?: { expr: string }[] }[] };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

/** PromQL words that look like identifiers but name no series. */
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan"]);

/**
 * The metric names a PromQL expression selects: what is left once strings, label matchers,
 * ranges and `by (...)`-style label lists are removed, minus function calls and keywords.
 */
export function metricNamesOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, "")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)) {
    if (!KEYWORDS.has(m[1]!.toLowerCase())) names.add(m[1]!);
  }
  return [...names];
}
