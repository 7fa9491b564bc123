/**
 * A real Prometheus server (Debian's, installed by scripts/system-deps.sh) for tests: its own
 * temp dir for the config, the TSDB and its log, listening on 127.0.0.1 only, started with
 * `spawnChild` so it dies with the test process however that ends.
 */
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { dump } from "js-yaml";
import { freePort, stopNode, type NodeProcess } from "../../scripts/lib/devnet.js";
import { makeTempDir, removeTempDir, spawnChild } from "../../scripts/lib/processes.js";
import { until } from "../node/helpers.js";

export interface PrometheusServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** GET `/api/v1/<endpoint>` and its `data`; throws on an HTTP or API error. */
  api<T>(endpoint: string): Promise<T>;
  /** SIGTERM (SIGKILL after a grace period), then removes the temp dir. */
  stop(): Promise<void>;
}

export type PrometheusOptions = {
  /** `host:port` targets serving `/metrics`, scraped every second as job `job`. */
  readonly targets: readonly string[];
  readonly job: string;
  /** Rule files Prometheus loads and evaluates every second. */
  readonly ruleFiles?: readonly string[];
};

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const dir = makeTempDir("seq-prometheus-");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = path.join(dir, "prometheus.yml");
  await writeFile(
    configFile,
    dump({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: [...(options.ruleFiles ?? [])],
      scrape_configs: [{ job_name: options.job, static_configs: [{ targets: [...options.targets] }] }],
    }),
  );
  const logFile = path.join(dir, "prometheus.log");
  const log = createWriteStream(logFile);
  const child = spawnChild("prometheus", [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  const proc: NodeProcess = { child, pid: child.pid ?? -1, logFile, exited };
  const stop = async () => {
    await stopNode(proc);
    log.end();
    await removeTempDir(dir);
  };
  try {
    if (child.pid === undefined) {
      const [error] = (await once(child, "error")) as [Error];
      throw new Error(`cannot start prometheus (${error.message}): run scripts/system-deps.sh, as npm test does first`);
    }
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    await untilReady(url, exited, logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  const api = async <T>(endpoint: string): Promise<T> => {
    const res = await fetch(`${url}/api/v1/${endpoint}`);
    const body = (await res.json()) as { status: string; data?: T; error?: string };
    if (!res.ok || body.status !== "success") throw new Error(`prometheus /api/v1/${endpoint}: HTTP ${res.status} ${body.error ?? ""}`);
    return body.data as T;
  };
  return { url, api, stop };
}

/** Resolves once `/-/ready` answers 200; throws with the log if Prometheus exits first or never gets ready. */
async function untilReady(url: string, exited: Promise<number | NodeJS.Signals>, logFile: string): Promise<void> {
  let gone: number | NodeJS.Signals | undefined;
  void exited.then((code) => (gone = code));
  const withLog = async (message: string) => new Error(`${message}; its log:\n${await readFile(logFile, "utf8")}`);
  const outcome = await until(
    `prometheus at ${url} to be ready`,
    async () => (gone !== undefined ? { gone } : (await fetch(`${url}/-/ready`)).ok ? { gone: undefined } : undefined),
    60_000,
  ).catch(async (error: Error) => {
    throw await withLog(error.message);
  });
  if (outcome.gone !== undefined) throw await withLog(`prometheus exited (${outcome.gone}) before it was ready`);
}
