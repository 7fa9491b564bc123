/**
 * The status page every node serves on its RPC port (GET /ui/), in a real headless Chromium
 * against three node processes: it shows what seq_status reports, its numbers move with traffic,
 * and it loads nothing from anywhere but the node.
 *
 * STATUS_PAGE_SCREENSHOT=docs/status-page.png saves the leader's page there (the README's picture).
 */
import { expect } from "chai";
import path from "node:path";
import type { Page } from "playwright-core";
import { deployAndStake, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { makeTempDir, removeTempDir } from "../../scripts/lib/processes.js";
import { launchChromium, type HeadlessChromium } from "./browser.js";
import { agreedLeader, converged, enterNextEpoch, rpc, signedTx, submit, until, type Status } from "./helpers.js";

const STAKES = ["2400", "1500", "1000"];

describe("status page (3 node processes, headless Chromium)", function () {
  this.timeout(240_000);
  let dir: string;
  let chain: LocalChain;
  let net: StakedNetwork;
  let chromium: HeadlessChromium | undefined;
  const procs: NodeProcess[] = [];
  /** Everything the pages asked for, and every error they logged. */
  const requested: string[] = [];
  const pageErrors: string[] = [];
  let leader: number;
  let follower: number;
  let followerPage: Page;
  let leaderPage: Page;

  const urls = () => net.operators.map((o) => o.rpcUrl);
  const pageUrl = (i: number) => `${net.operators[i]!.rpcUrl}ui/`;

  async function open(i: number): Promise<Page> {
    const context = await chromium!.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on("request", (request) => requested.push(request.url()));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(`${pageUrl(i)}: ${message.text()}`);
    });
    page.on("pageerror", (error) => pageErrors.push(`${pageUrl(i)}: ${error.message}`));
    await page.goto(pageUrl(i));
    // The first poll answered and rendered.
    await until("the page's first poll", async () => ((await page.getAttribute("body", "data-polls")) === null ? undefined : true), 60_000);
    return page;
  }

  /** The number shown in element `id`, digits and decimal point only; NaN while it shows none. */
  const shown = async (page: Page, id: string) => Number.parseFloat((await page.textContent(`#${id}`))!.replace(/[^\d.]/g, ""));
  /** Waits until the page shows what `holds` accepts. */
  const untilShown = (what: string, page: Page, id: string, holds: (text: string) => boolean) =>
    until(what, async () => (holds((await page.textContent(`#${id}`)) ?? "") ? true : undefined), 120_000);

  before(async () => {
    dir = makeTempDir("seq-status-page-");
    // A block a second, so batches reach their confirmation depth; long epochs keep the schedule still.
    chain = await startLocalChain(0, { blockIntervalMs: 1_000 });
    net = await deployAndStake(chain, dir, STAKES, {}, { deploy: { epochLength: 600n, unbondingPeriod: 2_400n } });
    await enterNextEpoch(chain, net.deployment.registry);
    for (const op of net.operators) procs.push(spawnNode(op));
    chromium = await launchChromium();
    // The leader the epoch settled on: the genesis leader hands over to the epoch's primary first.
    leader = await agreedLeader(urls(), net.operators, -1, true);
    follower = (leader + 1) % 3;
    followerPage = await open(follower);
    leaderPage = await open(leader);
  });

  after(async () => {
    await chromium?.close();
    await Promise.all(procs.map((p) => stopNode(p, "SIGKILL")));
    await chain?.close();
    if (dir) await removeTempDir(dir);
  });

  it("shows the leader that seq_status reports, the epoch's schedule and the set with its stake", async () => {
    const status = await until("the follower's page to show the leader its seq_status reports", async () => {
      const [onPage, s] = await Promise.all([followerPage.textContent("#leader"), rpc<Status & { schedule: string[]; epoch: number }>(net.operators[follower]!.rpcUrl, "seq_status")]);
      return s.leader !== null && onPage === s.leader ? s : undefined;
    });
    expect(status.leader).to.equal(net.operators[leader]!.operator.toLowerCase());
    expect(await followerPage.textContent("#node-id")).to.equal(net.operators[follower]!.operator.toLowerCase());
    expect(await followerPage.textContent("#role")).to.equal("follower");
    expect(await followerPage.textContent("#epoch-number")).to.equal(String(status.epoch));

    const schedule = await followerPage.$$eval("#schedule li", (items) => items.map((li) => li.getAttribute("data-node-id")));
    expect(schedule).to.deep.equal(status.schedule);
    const tagged = (tag: string) => followerPage.$$eval(`#schedule li:has(.tag.${tag})`, (items) => items.map((li) => li.getAttribute("data-node-id")));
    expect(await tagged("leader")).to.deep.equal([status.leader]);
    const [next] = await tagged("next");
    expect(next, "the next leader is another member of the schedule").to.be.oneOf(status.schedule.filter((id) => id !== status.leader));

    // Stake shares as L1 has them: 2400, 1500 and 1000 of 4900.
    const shares = await followerPage.$$eval("#members tr", (rows) =>
      Object.fromEntries(rows.map((row) => [row.getAttribute("data-node-id"), row.querySelector(".share")!.textContent!.trim()])),
    );
    expect(shares).to.deep.equal({
      [net.operators[0]!.operator.toLowerCase()]: "48.97 %",
      [net.operators[1]!.operator.toLowerCase()]: "30.61 %",
      [net.operators[2]!.operator.toLowerCase()]: "20.40 %",
    });
    // Only the leader knows replication: its page shows both followers replicating.
    const leaderId = status.leader!;
    await until("the leader's page to show both followers replicating", async () => {
      const replication = await leaderPage.$$eval("#members tr", (rows) => rows.map((row) => [row.getAttribute("data-node-id"), row.lastElementChild!.textContent ?? ""]));
      const others = replication.filter(([id]) => id !== leaderId);
      return replication.length === 3 && others.every(([, text]) => text.startsWith("active")) ? true : undefined;
    });
    expect(await leaderPage.textContent(`#members tr[data-node-id="${leaderId}"] td:last-child`)).to.match(/^leads: the log ends at index \d+/);
    expect(await followerPage.textContent("#replication-note")).to.contain("Only the leader tracks replication");
  });

  it("counts the commits as traffic arrives: the total, the rate, the latency and the batches on L1 move", async () => {
    const before = await until("the follower's page to show a commit count", async () => {
      const n = await shown(followerPage, "committed");
      return Number.isNaN(n) ? undefined : n;
    });
    // Watched from before the traffic starts: the rate is a 10 s average, so it shows while it lasts.
    const rateRose = untilShown("a commit rate on the follower's page", followerPage, "rate", (text) => Number.parseFloat(text) > 0);
    const latencyShown = untilShown("a commitment latency on the leader's page", leaderPage, "latency-p50", (text) => / m?s$/.test(text));
    // Four clients, each sending one transaction after another, round-robin over the nodes.
    const TXS = 120;
    let sent = 0;
    const client = async (k: number) => {
      while (sent < TXS) await submit(urls()[(sent++ + k) % 3]!, await signedTx());
    };
    await Promise.all([Promise.all([0, 1, 2, 3].map(client)), rateRose, latencyShown]);
    const next = await converged(urls());
    expect(next - before).to.be.at.least(TXS);

    await untilShown(`${next} commits on the follower's page`, followerPage, "committed", (text) => Number(text.replace(/\D/g, "")) >= next);
    expect(await shown(followerPage, "peak")).to.be.greaterThan(0);
    // The charts plotted the samples: a line of at least one segment, or a dot for a lone value.
    const plotted = (page: Page, chart: string) => page.$$eval(`#${chart} path.line[d*="L"], #${chart} circle.dot`, (marks) => marks.length);
    expect(await plotted(followerPage, "commits-chart")).to.be.greaterThan(0);
    expect(await plotted(leaderPage, "latency-chart")).to.be.greaterThan(0);

    // A batch holding the traffic is accepted on L1 and listed with its block.
    await untilShown("a batch accepted on L1 on the leader's page", leaderPage, "last-posted", (text) => text.startsWith("#"));
    const rows = await leaderPage.$$eval("#batch-rows tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    expect(rows.some((cells) => /^\d/.test(cells[3] ?? "")), JSON.stringify(rows)).to.equal(true);
    expect(await leaderPage.textContent("#watchtower-summary")).to.match(/^Watchtower: \d+ accepted batches checked/);

    await untilShown(`${next} commits on the leader's page`, leaderPage, "committed", (text) => Number(text.replace(/\D/g, "")) >= next);
    const screenshot = process.env.STATUS_PAGE_SCREENSHOT === undefined ? path.join(dir, "status-page.png") : path.resolve(process.env.STATUS_PAGE_SCREENSHOT);
    await leaderPage.screenshot({ path: screenshot, fullPage: true });
  });

  it("says so while its node does not answer, and goes on when the node is back", async () => {
    await stopNode(procs[follower]!, "SIGKILL");
    await untilShown("the follower's page to say it is not updating", followerPage, "live", (text) => text === "not updating");
    expect(await followerPage.textContent("#error")).to.match(/^Cannot read the node's status \(.+\); retrying every second\. Showing the data of /);
    expect(await followerPage.isVisible("#error")).to.equal(true);
    procs[follower] = spawnNode(net.operators[follower]!);
    await untilShown("the follower's page to be live again", followerPage, "live", (text) => text.startsWith("live"));
    expect(await followerPage.isHidden("#error")).to.equal(true);
    const next = await converged(urls());
    await untilShown("the restarted node's commit count", followerPage, "committed", (text) => Number(text.replace(/\D/g, "")) === next);
  });

  it("loaded nothing but the node's own files and RPC, and logged no error", () => {
    const origins = new Set(requested.map((url) => new URL(url).origin));
    expect([...origins].sort()).to.deep.equal([new URL(pageUrl(follower)).origin, new URL(pageUrl(leader)).origin].sort());
    const paths = new Set(requested.map((url) => new URL(url).pathname));
    expect([...paths].sort()).to.deep.equal(["/", "/ui/", "/ui/status.css", "/ui/status.js"]);
    // Except the refused connections while the follower was down.
    const refused = `${pageUrl(follower)}: Failed to load resource: net::ERR_CONNECTION_REFUSED`;
    expect(pageErrors.filter((e) => e !== refused)).to.deep.equal([]);
  });
});
