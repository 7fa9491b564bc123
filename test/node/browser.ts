/**
 * A headless Chromium for tests: Debian's `chromium` (installed by scripts/system-deps.sh), started
 * with `spawnChild` in its own process group, so it is killed with its whole process tree on every
 * exit of the test process, a crash included, and driven over the DevTools protocol by playwright-core.
 */
import type { ChildProcess } from "node:child_process";
import { chromium, type Browser } from "playwright-core";
import { makeTempDir, removeTempDir, signalGroup, spawnChild } from "../../scripts/lib/processes.js";

export interface HeadlessChromium {
  readonly browser: Browser;
  readonly pid: number;
  /** Disconnects, kills the browser's process group and removes its profile. */
  close(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 60_000;

export async function launchChromium(): Promise<HeadlessChromium> {
  const profile = makeTempDir("chromium-profile-");
  const child = spawnChild(
    "chromium",
    [
      "--headless",
      // The tests run as root (CI too), where Chromium's sandbox cannot start; the pages are our own.
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-extensions",
      "--disable-background-networking",
      "--disable-crash-reporter",
      "--disable-breakpad",
      `--user-data-dir=${profile}`,
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      "about:blank",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = async () => {
    signalGroup(child, "SIGKILL");
    await exited;
    await removeTempDir(profile);
  };
  let browser: Browser;
  try {
    browser = await chromium.connectOverCDP(await devToolsEndpoint(child));
  } catch (error) {
    await kill();
    throw error;
  }
  return {
    browser,
    pid: child.pid!,
    close: async () => {
      await browser.close().catch(() => undefined);
      await kill();
    },
  };
}

/** The `ws://` address Chromium prints once it listens; its stderr is drained from then on. */
function devToolsEndpoint(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => fail(new Error(`chromium printed no DevTools address within ${STARTUP_TIMEOUT_MS} ms:\n${output}`)), STARTUP_TIMEOUT_MS);
    const onData = (chunk: string) => {
      output += chunk;
      const found = /DevTools listening on (ws:\/\/\S+)/.exec(output);
      if (found === null) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      output = "";
      child.stderr!.off("data", onData).on("data", () => undefined); // keep reading: a full pipe would block it
      resolve(found[1]!);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(new Error(`chromium exited (${code ?? signal}) before it listened:\n${output}`));
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.stderr!.off("data", onData);
      reject(error);
    };
    child.once("error", (error) => fail(new Error(`cannot start chromium (scripts/system-deps.sh installs it): ${error.message}`)));
    child.once("exit", onExit);
    child.stderr!.setEncoding("utf8").on("data", onData);
  });
}
