// The node's status page: polls this node's public JSON-RPC (seq_status, seq_activity,
// seq_getBatch) once a second and renders it with plain DOM and hand-drawn SVG. Every value
// that comes from the node is set as text, never as markup.
"use strict";

const POLL_MS = 1000;
/** What the charts cover: the samples the node keeps (node/sequencer/activity.ts). */
const WINDOW_MS = 10 * 60 * 1000;
/** The narrowest time axis: a node that has just started has little history to spread out. */
const MIN_SPAN_MS = 60 * 1000;
/** What the headline numbers average over. */
const RECENT_MS = 10 * 1000;
const BATCH_ROWS = 8;
const SVG_NS = "http://www.w3.org/2000/svg";

const state = {
  /** Activity samples, oldest first, trimmed to WINDOW_MS behind the newest. */
  samples: [],
  /** What the batch table was last read for. */
  batchKey: null,
  polls: 0,
  lastUpdate: null,
};

// ---- JSON-RPC ----------------------------------------------------------------------------

let nextId = 1;

/** Sends the calls as one JSON-RPC batch to this node; resolves with their results in order. */
async function rpcBatch(calls) {
  const body = calls.map(([method, params]) => ({ jsonrpc: "2.0", id: nextId++, method, params }));
  const response = await fetch("/", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    cache: "no-store",
  });
  const replies = await response.json().catch(() => null);
  if (!response.ok || !Array.isArray(replies)) {
    throw new Error(replies?.error?.message ?? `HTTP ${response.status}`);
  }
  const byId = new Map(replies.map((reply) => [reply.id, reply]));
  return body.map((call) => {
    const reply = byId.get(call.id);
    if (reply === undefined) throw new Error(`no answer to ${call.method}`);
    if (reply.error) throw new Error(`${call.method}: ${reply.error.message}`);
    return reply.result;
  });
}

// ---- DOM helpers -------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function setText(id, text) {
  $(id).textContent = String(text);
}

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function tag(text, cls = "") {
  return el("span", { class: `tag ${cls}` }, text);
}

function mono(text) {
  return el("span", { class: "mono" }, text);
}

const integer = (n) => Number(n).toLocaleString("en-US");
const clock = (ms) => new Date(ms).toLocaleTimeString("en-GB", { hour12: false });

function formatRate(perSecond) {
  return perSecond >= 100 ? integer(Math.round(perSecond)) : perSecond.toFixed(1);
}

function formatMs(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return ms >= 10 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

function short(hash) {
  return hash.length > 18 ? `${hash.slice(0, 10)}…${hash.slice(-6)}` : hash;
}

// ---- leadership, epoch and set -------------------------------------------------------------

/**
 * Who leads next: the epoch's primary while leadership still has to move to it, otherwise the
 * first node after the leader in schedule order (the one whose election timer runs out first).
 */
function nextLeader(s) {
  const { schedule, leader, rotation } = s;
  const primary = schedule[0] ?? null;
  if (primary !== null && primary !== leader && rotation.settledEpoch < rotation.epoch) {
    return { id: primary, why: "the epoch's primary: leadership moves to it as the epoch settles" };
  }
  const successor = schedule.find((id) => id !== leader) ?? null;
  return { id: successor, why: "takes over if the leader fails (schedule order)" };
}

function renderLeadership(s) {
  setText("node-id", s.nodeId);
  const role = $("role");
  role.textContent = s.role;
  role.className = s.role === "leader" ? "badge leader" : "badge";
  setText("term", s.term);
  setText("leader", s.leader ?? "none: an election is under way");
  $("leader").dataset.nodeId = s.leader ?? "";
  const next = nextLeader(s);
  setText("next-leader", next.id ?? "—");
  $("next-leader").nextElementSibling.textContent = next.id === null ? "" : next.why;
  setText("primary", s.rotation.primary ?? "—");
  const r = s.rotation;
  $("rotation").textContent =
    r.epoch === null
      ? "no epoch confirmed yet"
      : r.settledEpoch >= r.epoch
        ? `epoch ${r.epoch} settled: ${r.settledLeader} recorded as its leader`
        : `epoch ${r.epoch} not settled yet${r.settledEpoch >= 0 ? ` (last settled: epoch ${r.settledEpoch})` : ""}`;
  if (s.retiredAtEpoch !== null) $("rotation").textContent += `; this node left the set at epoch ${s.retiredAtEpoch}`;
}

function renderEpoch(s) {
  setText("epoch-number", s.epoch);
  setText("l1-block", s.l1Error === null ? integer(s.l1ConfirmedBlock) : `${integer(s.l1ConfirmedBlock)} (L1 poll failing: ${s.l1Error})`);
  const start = s.nextEpochStartBlock - s.epochLength;
  const left = s.nextEpochStartBlock - s.l1ConfirmedBlock;
  setText("next-epoch", left > 0 ? `epoch ${s.epoch + 1} starts at block ${integer(s.nextEpochStartBlock)}, in ${integer(left)} blocks` : `epoch ${s.epoch + 1} started at block ${integer(s.nextEpochStartBlock)}: confirming`);
  const done = Math.min(1, Math.max(0, (s.l1ConfirmedBlock - start) / s.epochLength));
  $("epoch-progress").style.width = `${(done * 100).toFixed(1)}%`;

  const next = nextLeader(s).id;
  const items = s.schedule.map((id, rank) =>
    el(
      "li",
      { "data-node-id": id },
      mono(id),
      rank === 0 ? tag("primary") : null,
      id === s.leader ? tag("leader", "leader") : null,
      id === next ? tag("next", "next") : null,
      id === s.nodeId ? tag("this node") : null,
    ),
  );
  $("schedule").replaceChildren(...(items.length > 0 ? items : [el("li", { class: "empty" }, "no schedule: no epoch confirmed yet")]));
}

function renderSet(s) {
  const total = s.members.reduce((sum, m) => sum + BigInt(m.stake), 0n);
  const rows = s.members.map((m) => {
    const bps = total === 0n ? 0 : Number((BigInt(m.stake) * 10000n) / total);
    const fill = el("div");
    fill.style.width = `${(bps / 100).toFixed(2)}%`; // through CSSOM: the page's CSP refuses style attributes
    const share = el("div", { class: "share", title: `${m.stake} base units of the stake token` }, el("div", { class: "bar" }, fill), `${(bps / 100).toFixed(2)} %`);
    const raft = s.config.learners.includes(m.nodeId) ? "learner" : m.voter ? "voter" : "not a voter yet";
    let replication = "—";
    let cls = "";
    if (m.nodeId === s.nodeId && s.role === "leader") {
      replication = `leads: the log ends at index ${integer(s.lastIndex)}`;
    } else if (m.replication !== undefined) {
      const { match, lagEntries, active } = m.replication;
      replication = `${active ? "active" : "not heard from"}, match ${integer(match)}, ${integer(lagEntries)} entries behind`;
      cls = !active ? "bad" : lagEntries > 100 ? "warn" : "ok";
    }
    return el(
      "tr",
      { "data-node-id": m.nodeId },
      el("td", {}, mono(m.nodeId), m.nodeId === s.leader ? tag("leader", "leader") : null, m.nodeId === s.nodeId ? tag("this node") : null, m.peerId === null ? tag("no proven peer id", "bad") : null),
      el("td", {}, share),
      el("td", {}, raft),
      el("td", { class: cls }, replication),
    );
  });
  $("members").replaceChildren(...(rows.length > 0 ? rows : [el("tr", {}, el("td", { class: "empty", colspan: "4" }, "no active set confirmed yet"))]));
  setText("replication-note", s.role === "leader" ? "" : "Only the leader tracks replication: this node follows, so open the leader's own page for each member's lag.");
}

// ---- activity and charts -------------------------------------------------------------------

function mergeSamples(fresh) {
  for (const sample of fresh) {
    if (state.samples.length === 0 || sample.at > state.samples.at(-1).at) state.samples.push(sample);
  }
  const newest = state.samples.at(-1)?.at;
  if (newest !== undefined) state.samples = state.samples.filter((sample) => sample.at > newest - WINDOW_MS);
}

/** Applied transactions per second over the last RECENT_MS, from the positions at both ends. */
function recentRate(samples) {
  const latest = samples.at(-1);
  if (latest === undefined) return null;
  const base = [...samples].reverse().find((sample) => sample.at <= latest.at - RECENT_MS) ?? samples[0];
  if (base === latest) return latest.commitsPerSecond;
  return ((latest.nextPosition - base.nextPosition) * 1000) / (latest.at - base.at);
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeil(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= value) ?? 10 * power;
}

/** "−5 min", "−30 s": how long before the newest sample. */
function ago(ms, span) {
  return span >= 3 * 60 * 1000 ? `−${Number((ms / 60000).toFixed(1))} min` : `−${Math.round(ms / 1000)} s`;
}

/**
 * A line chart of `series` ([{ cls, label, points: [[at, value | null]] }]) over `span` ms
 * ending at `to`; a null value breaks its line.
 */
function drawChart(target, { series, to, span, format, minMax, emptyText }) {
  const [W, H] = [600, 180]; // the SVG's viewBox
  const { left, right, top, bottom } = { left: 56, right: 10, top: 16, bottom: 24 };
  const from = to - span;
  const values = series.flatMap((line) => line.points.map(([, v]) => v)).filter((v) => v !== null);
  const max = niceCeil(Math.max(minMax, ...values));
  const x = (at) => left + ((at - from) / span) * (W - left - right);
  const y = (v) => top + (1 - v / max) * (H - top - bottom);

  const nodes = [];
  for (const fraction of [0, 0.5, 1]) {
    const v = max * fraction;
    nodes.push(svg("line", { class: "grid", x1: left, x2: W - right, y1: y(v), y2: y(v) }));
    nodes.push(svg("text", { class: "axis", x: left - 6, y: y(v) + 4, "text-anchor": "end" }, format(v)));
  }
  for (const [fraction, text] of [[0, ago(span, span)], [0.5, ago(span / 2, span)], [1, "now"]]) {
    const at = from + fraction * span;
    nodes.push(svg("text", { class: "axis", x: x(at), y: H - 6, "text-anchor": fraction === 0 ? "start" : fraction === 1 ? "end" : "middle" }, text));
  }
  for (const line of series) {
    let d = "";
    const points = line.points;
    points.forEach(([at, v], i) => {
      if (v === null) return;
      const joined = i > 0 && points[i - 1][1] !== null;
      d += `${joined ? "L" : "M"}${x(at).toFixed(1)},${y(v).toFixed(1)}`;
      // A value with no neighbour draws no line: mark it.
      if (!joined && (i === points.length - 1 || points[i + 1][1] === null)) nodes.push(svg("circle", { class: `dot ${line.cls}`, cx: x(at).toFixed(1), cy: y(v).toFixed(1), r: 2.5 }));
    });
    if (line.area && line.points.length > 1) {
      const first = line.points[0][0];
      const last = line.points.at(-1)[0];
      nodes.push(svg("path", { class: "area", d: `${d}L${x(last).toFixed(1)},${y(0)}L${x(first).toFixed(1)},${y(0)}Z` }));
    }
    nodes.push(svg("path", { class: `line ${line.cls}`, d }));
  }
  if (values.length === 0) nodes.push(svg("text", { class: "empty", x: (left + W) / 2, y: H / 2, "text-anchor": "middle" }, emptyText));
  if (series.length > 1) {
    series.forEach((line, i) => {
      const lx = left + 8 + i * 70;
      nodes.push(svg("line", { class: `line ${line.cls}`, x1: lx, x2: lx + 14, y1: top - 6, y2: top - 6 }));
      nodes.push(svg("text", { class: "axis legend", x: lx + 18, y: top - 2 }, line.label));
    });
  }
  target.replaceChildren(...nodes);
}

function renderActivity() {
  const samples = state.samples;
  const latest = samples.at(-1);
  const to = latest?.at ?? Date.now();
  const span = Math.min(WINDOW_MS, Math.max(MIN_SPAN_MS, to - (samples[0]?.at ?? to)));
  const rate = recentRate(samples);
  setText("committed", latest === undefined ? "—" : integer(latest.nextPosition));
  setText("rate", rate === null ? "—" : formatRate(rate));
  setText("peak", latest === undefined ? "—" : formatRate(Math.max(...samples.map((sample) => sample.commitsPerSecond))));
  drawChart($("commits-chart"), {
    series: [{ cls: "", label: "commits/s", area: true, points: samples.map((sample) => [sample.at, sample.commitsPerSecond]) }],
    to,
    span,
    format: (v) => (v >= 100 ? integer(v) : String(Number(v.toFixed(1)))),
    minMax: 1,
    emptyText: "the node has not sampled its activity yet",
  });

  const measured = [...samples].reverse().find((sample) => sample.latencyP50Ms !== null && sample.at > to - RECENT_MS);
  setText("latency-p50", formatMs(measured?.latencyP50Ms));
  setText("latency-p99", formatMs(measured?.latencyP99Ms));
  drawChart($("latency-chart"), {
    series: [
      { cls: "", label: "p50", points: samples.map((sample) => [sample.at, sample.latencyP50Ms]) },
      { cls: "p99", label: "p99", points: samples.map((sample) => [sample.at, sample.latencyP99Ms]) },
    ],
    to,
    span,
    format: formatMs,
    minMax: 1,
    emptyText: "no commitments measured by this node in the window",
  });
}

// ---- batches and slashing ------------------------------------------------------------------

function renderBatchSummary(s) {
  const b = s.batches;
  setText("last-posted", b.lastPosted === null ? "none yet" : `#${b.lastPosted.batchNumber}`);
  setText("unposted", integer(b.unpostedTxs));
  // Blocks since the last accepted batch measure a lag only while transactions wait for one.
  setText("posting-lag-blocks", b.unpostedTxs === 0 ? "caught up" : b.lastPosted === null ? "no batch yet" : integer(Math.max(0, s.l1ConfirmedBlock - b.lastPosted.l1Block)));
  const notes = [];
  if (b.lastCut !== null) notes.push(`last cut: batch #${b.lastCut.batchNumber} (positions ${integer(b.lastCut.firstPosition)}–${integer(b.lastCut.lastPosition)}, ${b.lastCut.posted ? "on L1" : "not on L1 yet"})`);
  if (b.missedDeadline) notes.push("the oldest unposted batch is past its deadline");
  if (b.overloaded) notes.push("intake paused: too many committed transactions wait for L1");
  if (b.consecutiveFailures > 0) notes.push(`${b.consecutiveFailures} posting failures since the last progress`);
  if (b.lastError !== null) notes.push(`last error: ${b.lastError}`);
  if (b.mismatchedCuts > 0) notes.push(`${b.mismatchedCuts} mismatched cuts`);
  const note = $("batch-health");
  note.textContent = notes.join("; ");
  note.className = b.missedDeadline || b.overloaded || b.consecutiveFailures > 0 ? "note warn" : "note";
}

/** Reads the newest batches when the cut or the posted batch moved. */
async function refreshBatchRows(s) {
  const b = s.batches;
  const newest = b.lastCut?.batchNumber ?? 0;
  const key = `${newest}:${b.lastCut?.posted}:${b.lastPosted?.batchNumber}`;
  if (key === state.batchKey) return;
  const numbers = [];
  for (let n = newest; n >= 1 && numbers.length < BATCH_ROWS; n--) numbers.push(n);
  const batches = numbers.length === 0 ? [] : await rpcBatch(numbers.map((n) => ["seq_getBatch", [n]]));
  const rows = batches
    .filter((batch) => batch !== null)
    .map((batch) =>
      el(
        "tr",
        {},
        el("td", {}, `#${batch.batchNumber}`),
        el("td", {}, String(batch.epoch)),
        el("td", {}, `${integer(batch.firstPosition)}–${integer(batch.lastPosition)} (${integer(batch.lastPosition - batch.firstPosition + 1)})`),
        el("td", {}, batch.posted === null ? "not on L1 yet" : integer(batch.posted.l1Block)),
        el("td", {}, batch.posted === null ? "" : el("span", { class: "mono", title: batch.posted.l1TxHash }, short(batch.posted.l1TxHash))),
      ),
    );
  $("batch-rows").replaceChildren(...(rows.length > 0 ? rows : [el("tr", {}, el("td", { class: "empty", colspan: "5" }, "no batch cut yet"))]));
  state.batchKey = key;
}

function renderSlashing(s) {
  const w = s.watchtower;
  const table = $("slash-table");
  if (w === null) {
    setText("watchtower-summary", "This node runs no watchtower, so it follows no slashing; a node with its watchtower on shows the slashes it found.");
    table.hidden = true;
    return;
  }
  const parts = [
    `Watchtower: ${integer(w.batchesChecked)} accepted batches checked${w.lastCheckedBlock === null ? "" : ` up to L1 block ${integer(w.lastCheckedBlock)}`}`,
    `${integer(w.mismatches)} positions differing from this node's log`,
    `${integer(w.slashesSubmitted)} slashes submitted by this node`,
  ];
  if (w.waitingForPosition !== null) parts.push(`waiting for its log to reach position ${integer(w.waitingForPosition)}`);
  if (w.lastError !== null) parts.push(`last error (${w.lastError.at}): ${w.lastError.message}`);
  setText("watchtower-summary", `${parts.join("; ")}.`);
  table.hidden = false;
  const rows = [...w.recentSlashes].reverse().map((r) =>
    el(
      "tr",
      {},
      el("td", {}, clock(Date.parse(r.at))),
      el("td", {}, r.offence === "broken-commitment" ? `broken commitment at position ${integer(r.position)}` : "batch equivocation"),
      el("td", {}, `#${r.batchNumber}`),
      el("td", {}, mono(r.signer)),
      el("td", { class: r.outcome === "slashed" ? "bad" : "" }, r.outcome === "slashed" ? `slashed ${r.slashedOperator}` : r.outcome.replaceAll("-", " ")),
      el("td", {}, r.l1TxHash === null ? "" : el("span", { class: "mono", title: r.l1TxHash }, short(r.l1TxHash))),
    ),
  );
  $("slash-rows").replaceChildren(...(rows.length > 0 ? rows : [el("tr", {}, el("td", { class: "empty", colspan: "6" }, "no offence found since this node started"))]));
}

// ---- the loop ------------------------------------------------------------------------------

function showLive() {
  state.polls++;
  state.lastUpdate = Date.now();
  document.body.dataset.polls = String(state.polls);
  $("error").hidden = true;
  const live = $("live");
  live.className = "live";
  live.textContent = `live · updated ${clock(state.lastUpdate)}`;
}

function showError(error) {
  const banner = $("error");
  banner.hidden = false;
  banner.textContent = `Cannot read the node's status (${error.message}); retrying every second.${state.lastUpdate === null ? "" : ` Showing the data of ${clock(state.lastUpdate)}.`}`;
  const live = $("live");
  live.className = "live stale";
  live.textContent = "not updating";
}

async function poll() {
  try {
    const since = state.samples.at(-1)?.at;
    const [status, fresh] = await rpcBatch([
      ["seq_status", []],
      ["seq_activity", since === undefined ? [] : [since]],
    ]);
    mergeSamples(fresh);
    renderLeadership(status);
    renderEpoch(status);
    renderSet(status);
    renderActivity();
    renderBatchSummary(status);
    renderSlashing(status);
    await refreshBatchRows(status);
    showLive();
  } catch (error) {
    showError(error);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

void poll();
