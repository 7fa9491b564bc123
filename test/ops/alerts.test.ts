/**
 * The shipped alert rules and dashboard, checked by Debian's Prometheus tooling (promtool, which
 * scripts/system-deps.sh installs before `npm test`): the rules load, their unit tests
 * (ops/prometheus/alerts.test.yml) pass, and every dashboard query parses. That the metric names
 * exist on a real node is checked by test/node/cluster.test.ts, where Prometheus scrapes a cluster.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { dump, load } from "js-yaml";
import { makeTempDir, removeTempDir, runChild } from "../../scripts/lib/processes.js";
import { ALERTS_FILE, ALERTS_TEST_FILE, alertRules, dashboardExpressions, metricNamesOf } from "./monitoring.js";

type RuleTest = {
  input_series: { series: string }[];
  alert_rule_test: { alertname: string; exp_alerts: { exp_labels: Record<string, string> }[] }[];
};

/** The labels of a series selector such as `up{job="sequencer", instance="n1"}`. */
function labelsOf(series: string): Record<string, string> {
  return Object.fromEntries([...series.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

function promtool(args: string[]) {
  return runChild("promtool", args, { timeoutMs: 60_000 });
}

describe("Prometheus alert rules and Grafana dashboard (promtool)", function () {
  this.timeout(60_000);
  let dir: string;

  before(async () => {
    const version = await promtool(["--version"]).catch((error: Error) => {
      throw new Error(`promtool is not runnable (${error.message}): run scripts/system-deps.sh, as npm test does first`);
    });
    expect(version.code, version.stderr).to.equal(0);
    dir = makeTempDir("seq-alerts-");
  });
  after(async () => {
    if (dir) await removeTempDir(dir);
  });

  it("promtool check rules accepts every alert, each with a severity", async () => {
    const rules = alertRules();
    const { code, stdout, stderr } = await promtool(["check", "rules", ALERTS_FILE]);
    expect(code, stdout + stderr).to.equal(0);
    expect(stdout).to.contain(`SUCCESS: ${rules.length} rules found`);
    for (const rule of rules) expect(["page", "ticket"], `${rule.alert} severity`).to.include(rule.labels.severity);
  });

  it("promtool check rules refuses a broken expression (the check above can fail)", async () => {
    const broken = path.join(dir, "broken.yml");
    await writeFile(broken, dump({ groups: [{ name: "broken", rules: [{ alert: "Broken", expr: "rate(seq_l1_errors_total[5m] > 0" }] }] }));
    const { code, stdout, stderr } = await promtool(["check", "rules", broken]);
    expect(code).to.not.equal(0);
    expect(stdout + stderr).to.contain("parse error");
  });

  it("promtool test rules: each alert fires on its bad series, stays quiet on the healthy ones", async () => {
    const { code, stdout, stderr } = await promtool(["test", "rules", ALERTS_TEST_FILE]);
    expect(code, stdout + stderr).to.equal(0);
    expect(stdout).to.contain("SUCCESS");

    // Every alert has a test that expects it to fire while some input series must not.
    const tests = (load(readFileSync(ALERTS_TEST_FILE, "utf8")) as { tests: RuleTest[] }).tests;
    for (const rule of alertRules()) {
      const covered = tests.some((t) =>
        t.alert_rule_test.some((a) => {
          if (a.alertname !== rule.alert || a.exp_alerts.length === 0) return false;
          const expected = a.exp_alerts.map(({ exp_labels: { severity: _, ...labels } }) => labels);
          const fires = (series: Record<string, string>) => expected.some((e) => Object.entries(e).every(([k, v]) => series[k] === v));
          return t.input_series.some((s) => !fires(labelsOf(s.series)));
        }),
      );
      expect(covered, `${rule.alert}: no test with series that fire it and series that do not`).to.equal(true);
    }
  });

  it("parses metric names out of PromQL, and every dashboard query is valid PromQL", async () => {
    expect(
      metricNamesOf('sum by (job, instance) (rate(seq_rpc_requests_total{method=~"a|b"}[5m])) > 0 and on (job, instance) changes(seq_commit_position[5m]) == 0'),
    ).to.deep.equal(["seq_rpc_requests_total", "seq_commit_position"]);
    expect(metricNamesOf("sum without (operation) (increase(seq_l1_errors_total[5m])) > 1e3")).to.deep.equal(["seq_l1_errors_total"]);
    expect(metricNamesOf('a{x="$instance"} / b{x=~"$instance"} < 0.10 or up')).to.deep.equal(["a", "b", "up"]);

    const expressions = dashboardExpressions();
    expect(expressions.length).to.be.greaterThan(10);
    // Grafana's variables replaced as Grafana would, then each query loaded as a recording rule.
    const rules = expressions.map((expr, i) => ({ record: `dashboard:panel_query_${i}`, expr: expr.replaceAll("$__rate_interval", "1m").replaceAll("$instance", ".*") }));
    const file = path.join(dir, "dashboard-queries.yml");
    await writeFile(file, dump({ groups: [{ name: "dashboard", rules }] }));
    const { code, stdout, stderr } = await promtool(["check", "rules", file]);
    expect(code, stdout + stderr).to.equal(0);
    expect(stdout).to.contain(`SUCCESS: ${rules.length} rules found`);
  });
});
