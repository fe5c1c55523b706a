/**
 * The dashboard: `GET /` serves one self-contained page (inline HTML, CSS and JS, an SVG chart drawn by
 * hand, nothing from a CDN) that polls `GET /dashboard/data`, a JSON view combining this node's status, every
 * member's own view (clusterStatus) and this node's HTTP request counters.
 */
import type { Ballot } from "../../omnipaxos/ballot.ts";
import type { ChiselStore } from "../node.ts";

/** One member as the dashboard shows it. Fields other than the first four are absent when unreachable. */
export interface DashboardMember {
  peerId: string;
  /** The node serving the dashboard. */
  self: boolean;
  reachable: boolean;
  /** The member says it leads (accept phase). */
  claimsLeadership: boolean;
  httpUrl?: string;
  appliedIdx?: number;
  decidedIdx?: number;
  /** Members it has a consensus session with: its row of the connectivity matrix. */
  connected?: string[];
  addrs?: string[];
  /** Why it could not be asked (unreachable members). */
  error?: string;
}

export interface DashboardData {
  /** Peer ID of the node serving the dashboard. */
  self: string;
  /** Server clock (ms since the epoch) when the view was taken: the time axis of the rate chart. */
  time: number;
  /** The leader this node knows of, with the ballot it leads with; null while none is known. */
  leader: { peerId: string; ballot: Ballot } | null;
  /** This node's consensus state. */
  node: {
    role: string;
    phase: string;
    isLeader: boolean;
    quorumConnected: boolean;
    configId: number;
    decidedIdx: number;
    acceptedIdx: number;
    compactedIdx: number;
    appliedIdx: number;
  };
  /** Every configured member, sorted by peer ID (the order of the matrix rows and columns). */
  members: DashboardMember[];
  /**
   * Monotonic counters the page turns into rates: `decidedIdx` counts log entries (every write through the
   * log, whichever node took it); the others count requests to this node's HTTP endpoints.
   */
  counters: { decidedIdx: number; httpExecute: number; httpQuery: number; httpRequest: number };
}

/** Build the `/dashboard/data` view; member probes use `timeoutMs` (an unreachable member costs at most that). */
export async function dashboardData(
  node: ChiselStore,
  requests: Record<string, number>,
  timeoutMs: number,
): Promise<DashboardData> {
  const views = await node.clusterStatus(timeoutMs);
  const st = node.status();
  const c = st.consensus;
  const members = views.map((v): DashboardMember => {
    const m: DashboardMember = {
      peerId: v.peerId,
      self: v.peerId === st.peerId,
      reachable: v.reachable,
      claimsLeadership: v.reachable && v.leader,
    };
    if (v.httpUrl !== undefined) m.httpUrl = v.httpUrl;
    if (v.appliedIdx !== undefined) m.appliedIdx = v.appliedIdx;
    if (v.decidedIdx !== undefined) m.decidedIdx = v.decidedIdx;
    if (v.connected !== undefined) m.connected = v.connected;
    if (v.addrs !== undefined) m.addrs = v.addrs;
    if (v.error !== undefined) m.error = v.error;
    return m;
  }).sort((a, b) => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0));
  return {
    self: st.peerId,
    time: Date.now(),
    // The leader is the owner of the ballot this node promised (Sequence Paxos's view of who leads).
    leader: st.leader !== undefined && c.promise.pid === st.leader
      ? { peerId: st.leader, ballot: { ...c.promise } }
      : null,
    node: {
      role: c.role,
      phase: c.phase,
      isLeader: st.isLeader,
      quorumConnected: c.ble.quorumConnected,
      configId: c.configId,
      decidedIdx: c.decidedIdx,
      acceptedIdx: c.acceptedIdx,
      compactedIdx: c.compactedIdx,
      appliedIdx: st.appliedIdx,
    },
    members,
    counters: {
      decidedIdx: c.decidedIdx,
      httpExecute: requests["/db/execute"] ?? 0,
      httpQuery: requests["/db/query"] ?? 0,
      httpRequest: requests["/db/request"] ?? 0,
    },
  };
}

/*
 * The page. Its script builds every element with DOM calls and textContent (peer IDs, URLs and error texts
 * are never parsed as HTML). It keeps the last view on screen when a poll fails and says so.
 */
const STYLE = `
:root { color-scheme: light; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #6e7781;
  --line: #d0d7de; --bg: #f6f8fa; --w: #0969da; --r: #bf3989; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #fff; }
header { padding: 10px 18px; background: #24292f; color: #fff; display: flex; gap: 16px; align-items: baseline;
  flex-wrap: wrap; }
header h1 { font-size: 17px; margin: 0; }
header .sub { color: #d0d7de; font-size: 12px; }
#status { margin-left: auto; font-size: 12px; }
#status.stale { color: #ffb3b3; font-weight: 600; }
main { padding: 12px 18px; display: grid; gap: 14px; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
section { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 14px; margin: 0 0 8px; }
table { border-collapse: collapse; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; font-size: 12px; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.pid { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; word-break: break-all; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; border-radius: 10px; padding: 0 7px; font-size: 11px; font-weight: 600;
  margin-left: 4px; white-space: nowrap; }
.badge.leader { background: #dafbe1; color: var(--ok); border: 1px solid var(--ok); }
.badge.claim { background: #fff8c5; color: var(--warn); border: 1px solid var(--warn); }
.badge.self { background: #ddf4ff; color: var(--w); border: 1px solid var(--w); }
.badge.down { background: #ffebe9; color: var(--bad); border: 1px solid var(--bad); }
tr.unreachable td { color: var(--muted); }
.err { color: var(--bad); font-size: 12px; }
#leader.none { color: var(--warn); font-weight: 600; }
#leader .ballot { font-family: ui-monospace, monospace; font-size: 12px; }
#matrix td.cell { text-align: center; font-weight: 700; min-width: 34px; }
#matrix td[data-state="ok"] { background: #dafbe1; color: var(--ok); }
#matrix td[data-state="missing"] { background: #ffebe9; color: var(--bad); }
#matrix td[data-state="unknown"] { background: var(--bg); color: var(--muted); }
#matrix td[data-state="self"] { color: var(--muted); }
#matrix th.down { color: var(--bad); }
.legend { color: var(--muted); font-size: 12px; margin-top: 6px; }
.legend .sw { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin: 0 4px 0 10px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
`;

const SCRIPT = `
"use strict";
var params = new URLSearchParams(location.search);
var INTERVAL = Math.max(200, Number(params.get("interval")) || 1000);
var WINDOW_S = 120;
var samples = [];
var last = null;

function h(tag, attrs) {
  var el = document.createElement(tag);
  if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) el.setAttribute(k, String(attrs[k]));
  for (var i = 2; i < arguments.length; i++) {
    var c = arguments[i];
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return el;
}
function s(tag, attrs) {
  var el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (var k in attrs) el.setAttribute(k, String(attrs[k]));
  if (arguments.length > 2) el.textContent = String(arguments[2]);
  return el;
}
function short(pid) { return pid.length > 14 ? pid.slice(0, 6) + "\\u2026" + pid.slice(-6) : pid; }
function fill(id) {
  var el = document.getElementById(id);
  while (el.firstChild) el.removeChild(el.firstChild);
  for (var i = 1; i < arguments.length; i++) if (arguments[i]) el.appendChild(arguments[i]);
  return el;
}
function idx(v) { return v === undefined ? "\\u2014" : String(v); }
function ballotText(b) { return "ballot n=" + b.n + ", priority " + b.priority; }

function renderLeader(d) {
  var el = document.getElementById("leader");
  if (!d.leader) {
    el.className = "none";
    fill("leader", document.createTextNode(
      "No leader known (an election is in progress, or this node cannot reach a quorum)."));
    return;
  }
  el.className = "";
  var lm = d.members.filter(function (m) { return m.peerId === d.leader.peerId; })[0];
  fill("leader",
    h("span", { "class": "pid", id: "leader-id" }, d.leader.peerId),
    h("span", { "class": "badge leader" }, "leader"),
    h("span", { "class": "ballot", id: "leader-ballot" }, " " + ballotText(d.leader.ballot)),
    lm && !lm.reachable ? h("span", { "class": "badge down" }, "unreachable from here") : null);
}

function renderMembers(d) {
  var body = h("tbody");
  d.members.forEach(function (m, i) {
    var isLeader = d.leader !== null && m.peerId === d.leader.peerId;
    var who = h("td", null, h("span", { "class": "pid" }, m.peerId),
      m.self ? h("span", { "class": "badge self" }, "this node") : null,
      isLeader ? h("span", { "class": "badge leader" }, "leader") : null,
      m.claimsLeadership && !isLeader ? h("span", { "class": "badge claim" }, "claims leadership") : null,
      m.reachable ? null : h("span", { "class": "badge down" }, "unreachable"));
    var state = m.reachable
      ? h("td", null, isLeader ? ballotText(d.leader.ballot) : "follower")
      : h("td", null, h("span", { "class": "err" }, m.error || "no answer"));
    var api = m.httpUrl ? h("a", { href: m.httpUrl + "/" }, m.httpUrl) : "\\u2014";
    body.appendChild(h("tr", {
      "data-peer": m.peerId, "data-reachable": m.reachable, "data-leader": isLeader,
      "class": m.reachable ? "" : "unreachable",
    }, h("td", null, "#" + (i + 1)), who, state, h("td", { "class": "num" }, idx(m.decidedIdx)), h("td", { "class": "num" }, idx(m.appliedIdx)),
      h("td", { "class": "num" }, m.connected ? String(m.connected.length) : "?"), h("td", null, api)));
  });
  fill("members", h("table", null, h("thead", null, h("tr", null, h("th", null, "#"), h("th", null, "member (peer ID)"),
    h("th", null, "role"), h("th", null, "decided"), h("th", null, "applied"), h("th", null, "sessions"),
    h("th", null, "HTTP API"))), body));
  document.getElementById("member-count").textContent = String(d.members.length);
}

function renderMatrix(d) {
  var head = h("tr", null, h("th", null, "from \\u2193 / to \\u2192"));
  d.members.forEach(function (m, i) {
    head.appendChild(h("th", { title: m.peerId, "class": m.reachable ? "" : "down" },
      "#" + (i + 1) + (m.reachable ? "" : " \\u26a0")));
  });
  var body = h("tbody");
  d.members.forEach(function (row, i) {
    var tr = h("tr", { "data-from": row.peerId }, h("th", { title: row.peerId },
      "#" + (i + 1) + " ", h("span", { "class": "pid" }, short(row.peerId)),
      row.reachable ? null : h("span", { "class": "badge down" }, "unreachable")));
    d.members.forEach(function (col) {
      var state, mark, title;
      if (row.peerId === col.peerId) { state = "self"; mark = "\\u2014"; title = "itself"; }
      else if (!row.reachable || !row.connected) { state = "unknown"; mark = "?"; title = "unknown: cannot ask " + row.peerId; }
      else if (row.connected.indexOf(col.peerId) >= 0) { state = "ok"; mark = "\\u2713"; title = "session open"; }
      else { state = "missing"; mark = "\\u2717"; title = "no session"; }
      tr.appendChild(h("td", { "class": "cell", "data-from": row.peerId, "data-to": col.peerId, "data-state": state,
        title: short(row.peerId) + " \\u2192 " + short(col.peerId) + ": " + title }, mark));
    });
    body.appendChild(tr);
  });
  fill("matrix", h("table", null, h("thead", null, head), body));
}

function renderNode(d) {
  var n = d.node;
  var rows = [["peer ID", d.self], ["role / phase", n.role + " / " + n.phase],
    ["quorum-connected", n.quorumConnected ? "yes" : "no"], ["config", String(n.configId)],
    ["decided / accepted", n.decidedIdx + " / " + n.acceptedIdx], ["applied", String(n.appliedIdx)],
    ["compacted", String(n.compactedIdx)],
    ["HTTP requests", "execute " + d.counters.httpExecute + ", query " + d.counters.httpQuery +
      ", request " + d.counters.httpRequest]];
  var dl = h("dl");
  rows.forEach(function (r) { dl.appendChild(h("dt", null, r[0])); dl.appendChild(h("dd", { "class": r[0] === "peer ID" ? "pid" : "" }, r[1])); });
  fill("node", dl);
}

function addSample(d) {
  var p = samples[samples.length - 1];
  var c = d.counters;
  var cur = { t: d.time, decided: c.decidedIdx, reads: c.httpQuery };
  if (p && cur.t > p.t && cur.decided >= p.decided && cur.reads >= p.reads) {
    var dt = (cur.t - p.t) / 1000;
    cur.writeRate = (cur.decided - p.decided) / dt;
    cur.readRate = (cur.reads - p.reads) / dt;
  }
  if (p && cur.t <= p.t) return;
  samples.push(cur);
  while (samples.length > 0 && samples[0].t < cur.t - WINDOW_S * 1000) samples.shift();
}

function niceMax(v) {
  if (v <= 1) return 1;
  var e = Math.pow(10, Math.floor(Math.log10(v)));
  var steps = [1, 2, 5, 10];
  for (var i = 0; i < steps.length; i++) if (v <= steps[i] * e) return steps[i] * e;
  return 10 * e;
}

function renderChart() {
  var W = 900, H = 200, L = 46, R = 12, T = 10, B = 24;
  var pts = samples.filter(function (p) { return p.writeRate !== undefined; });
  var svg = s("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", height: H, id: "rate-chart", role: "img",
    "aria-label": "writes and reads per second" });
  var now = samples.length ? samples[samples.length - 1].t : 0;
  // The time axis grows with the history kept, from 30 s up to WINDOW_S, in 30 s steps.
  var span = samples.length ? Math.min(WINDOW_S, Math.max(30, Math.ceil((now - samples[0].t) / 30000) * 30)) : 30;
  var max = niceMax(pts.reduce(function (m, p) { return Math.max(m, p.writeRate, p.readRate); }, 0));
  function x(t) { return L + (W - L - R) * (1 - (now - t) / (span * 1000)); }
  function y(v) { return T + (H - T - B) * (1 - v / max); }
  for (var g = 0; g <= 4; g++) {
    var v = max * g / 4;
    svg.appendChild(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#d0d7de", "stroke-width": 1 }));
    svg.appendChild(s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, +v.toFixed(2)));
  }
  for (var sec = 0; sec <= span; sec += span / 3) {
    svg.appendChild(s("text", { x: x(now - sec * 1000), y: H - 6, "text-anchor": "middle" }, sec === 0 ? "now" : "-" + sec + "s"));
  }
  [["writes", "writeRate", "#0969da"], ["reads", "readRate", "#bf3989"]].forEach(function (sd) {
    if (pts.length === 0) return;
    var line = pts.map(function (p) { return x(p.t).toFixed(1) + "," + y(p[sd[1]]).toFixed(1); }).join(" ");
    svg.appendChild(s("polyline", { points: line, fill: "none", stroke: sd[2], "stroke-width": 2, "data-series": sd[0] }));
    pts.forEach(function (p) {
      svg.appendChild(s("circle", { cx: x(p.t).toFixed(1), cy: y(p[sd[1]]).toFixed(1), r: 2.5, fill: sd[2],
        "data-series": sd[0], "data-value": p[sd[1]].toFixed(3), "data-time": p.t }));
    });
  });
  if (pts.length === 0) {
    svg.appendChild(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "collecting samples\\u2026"));
  }
  fill("chart", svg);
  var lastPt = pts[pts.length - 1];
  document.getElementById("rates-now").textContent = lastPt
    ? "now: " + lastPt.writeRate.toFixed(1) + " writes/s, " + lastPt.readRate.toFixed(1) + " reads/s" : "";
}

function render(d) {
  renderLeader(d);
  renderMembers(d);
  renderMatrix(d);
  renderNode(d);
  addSample(d);
  renderChart();
}

function setStatus(text, stale) {
  var el = document.getElementById("status");
  el.textContent = text;
  el.className = stale ? "stale" : "";
  document.body.setAttribute("data-stale", stale ? "true" : "false");
}

function poll() {
  fetch("dashboard/data?timeout=" + Math.max(200, INTERVAL - 100) + "ms", { cache: "no-store" })
    .then(function (res) {
      if (!res.ok) return res.text().then(function (t) { throw new Error("HTTP " + res.status + ": " + t.slice(0, 200)); });
      return res.json();
    })
    .then(function (d) {
      last = d;
      document.getElementById("self").textContent = d.self;
      render(d);
      setStatus("updated " + new Date(d.time).toLocaleTimeString(), false);
    })
    .catch(function (e) {
      setStatus("cannot reach this node (" + (e && e.message ? e.message : e) + ")" +
        (last ? "; showing the view of " + new Date(last.time).toLocaleTimeString() : ""), true);
    })
    .then(function () { setTimeout(poll, INTERVAL); });
}
poll();
`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ChiselStore dashboard</title>
<style>${STYLE}</style>
</head>
<body data-stale="false">
<header><h1>ChiselStore</h1><span class="sub">node <span id="self" class="mono">…</span></span>
<span id="status">loading…</span></header>
<main>
<section class="wide"><h2>Leader</h2><div id="leader">…</div></section>
<section class="wide"><h2>Members (<span id="member-count">…</span>)</h2><div id="members"></div></section>
<section><h2>Connectivity (who has a session with whom)</h2><div id="matrix"></div>
<div class="legend">row = from, column = to. ✓ session open · ✗ no session · ? unknown (the member
cannot be asked) · ⚠ unreachable from this node</div></section>
<section><h2>This node</h2><div id="node"></div></section>
<section class="wide"><h2>Rates <span id="rates-now" class="legend"></span></h2><div id="chart"></div>
<div class="legend"><span class="sw" style="background:#0969da"></span>writes/s: log entries decided (every
node's writes) <span class="sw" style="background:#bf3989"></span>reads/s: <span class="mono">/db/query</span>
requests to this node's HTTP API</div></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
