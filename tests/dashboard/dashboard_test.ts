/**
 * The dashboard (`GET /` and `GET /dashboard/data`). The data endpoint is checked over plain HTTP on both
 * runtimes; the page itself is driven in headless Debian Chromium (/usr/bin/chromium) with playwright-core.
 * Set DASHBOARD_SCREENSHOT=/tmp/x to get PNGs of the live page (x-1.png all up, x-2.png one down + writes).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import type { Browser, Page } from "playwright-core";
import { browserSkip, launch } from "./browser.ts";
import type { DashboardData } from "../../src/server/http/dashboard.ts";
import { TestCluster } from "../server/cluster.ts";
import { waitFor } from "../net/wait.ts";
import { raw, withApi } from "../http/helpers.ts";

const skipBrowser = browserSkip();
if (skipBrowser) console.log(`dashboard browser tests skipped: ${skipBrowser}`);

/** What the page shows, read from its DOM (data-* attributes the page sets for exactly this). */
interface Shown {
  count: string;
  rows: { peer: string; reachable: string; leader: string; text: string }[];
  leaderId: string | null;
  leaderText: string;
  leaderClass: string;
  cells: { from: string; to: string; state: string }[];
  writes: number[];
  reads: number[];
  stale: string;
}

const SHOWN_JS = `(() => {
  const all = (sel) => Array.from(document.querySelectorAll(sel));
  const leader = document.getElementById("leader");
  return {
    count: document.getElementById("member-count").textContent,
    rows: all("#members tbody tr").map((tr) => ({
      peer: tr.dataset.peer, reachable: tr.dataset.reachable, leader: tr.dataset.leader, text: tr.textContent,
    })),
    leaderId: document.getElementById("leader-id")?.textContent ?? null,
    leaderText: leader.textContent,
    leaderClass: leader.className,
    cells: all("#matrix td.cell").map((td) => ({ from: td.dataset.from, to: td.dataset.to, state: td.dataset.state })),
    writes: all('#rate-chart circle[data-series="writes"]').map((c) => Number(c.dataset.value)),
    reads: all('#rate-chart circle[data-series="reads"]').map((c) => Number(c.dataset.value)),
    stale: document.body.dataset.stale,
  };
})()`;

const shown = (page: Page): Promise<Shown> => page.evaluate<Shown>(SHOWN_JS);

/** Poll the page until `ok` holds; the last view is in the error when it never does. */
async function until(
  page: Page,
  what: string,
  ok: (s: Shown) => boolean,
  timeoutMs = 20_000,
): Promise<Shown> {
  let last: Shown | undefined;
  try {
    await waitFor(async () => ok(last = await shown(page)), timeoutMs, what, 50);
  } catch (e) {
    throw new Error(`${(e as Error).message}; the page shows ${JSON.stringify(last)}`);
  }
  return last!;
}

function state(s: Shown, from: string, to: string): string | undefined {
  return s.cells.find((c) => c.from === from && c.to === to)?.state;
}

async function screenshot(page: Page, n: number): Promise<void> {
  const base = process.env.DASHBOARD_SCREENSHOT;
  if (base) await page.screenshot({ path: `${base}-${n}.png`, fullPage: true });
}

test("GET / serves a self-contained page; /dashboard/data combines status, members and counters", async () => {
  await withApi(async ({ node, url }) => {
    const page = await raw(url, "GET", "/");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(page.text, /<svg|createElementNS/);
    // Nothing loaded from elsewhere: no external scripts, styles or images.
    assert.doesNotMatch(page.text, /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);

    await raw(url, "POST", "/db/execute", JSON.stringify(["CREATE TABLE t(x)", "INSERT INTO t VALUES (1)"]));
    await raw(url, "GET", "/db/query?q=SELECT+1");
    await raw(url, "GET", "/db/query?q=SELECT+2");
    const res = await raw(url, "GET", "/dashboard/data?timeout=1s");
    assert.equal(res.status, 200);
    const d = res.json as DashboardData;
    const st = node.status();
    assert.equal(d.self, node.peerId);
    assert.deepEqual(d.leader, { peerId: node.peerId, ballot: st.consensus.promise });
    assert.equal(d.members.length, 1);
    assert.deepEqual(
      [d.members[0].peerId, d.members[0].self, d.members[0].reachable, d.members[0].claimsLeadership],
      [node.peerId, true, true, true],
    );
    assert.deepEqual(d.members[0].connected, []);
    assert.equal(d.node.appliedIdx, st.appliedIdx);
    assert.ok(d.counters.decidedIdx >= 1, JSON.stringify(d.counters));
    assert.deepEqual([d.counters.httpExecute, d.counters.httpQuery, d.counters.httpRequest], [1, 2, 0]);
    assert.ok(Math.abs(d.time - Date.now()) < 60_000);

    assert.equal((await raw(url, "GET", "/dashboard/data?timeout=soon")).status, 400);
    assert.equal((await raw(url, "POST", "/", "[]")).status, 405);
  });
});

test("dashboard in Chromium: members, leader and ballot, connectivity, a member down, write/read rates", {
  skip: skipBrowser,
}, async () => {
  const c = await TestCluster.create(3, { http: "127.0.0.1:0" });
  let browser: Browser | undefined;
  try {
    const l = await c.leader();
    const viewed = l;
    const victim = (l + 1) % 3;
    const url = c.node(viewed).status().httpUrl;
    assert.ok(url, "the viewed node serves HTTP");
    const ids = c.nodes.map((n) => n.peerId);
    const leaderId = ids[l];

    browser = await launch();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${url}/?interval=250`);

    const up = await until(page, "3 members, the leader with its ballot, all connected", (s) => {
      const promise = c.node(viewed).status().consensus.promise;
      return s.count === "3" && s.rows.length === 3 &&
        s.rows.every((r) => r.reachable === "true") &&
        s.leaderId === leaderId &&
        s.leaderText.includes(`ballot n=${promise.n}, priority ${promise.priority}`) &&
        s.rows.filter((r) => r.leader === "true").map((r) => r.peer).join() === leaderId &&
        s.cells.length === 9 &&
        s.cells.every((x) => x.state === (x.from === x.to ? "self" : "ok"));
    });
    assert.deepEqual(up.rows.map((r) => r.peer), [...ids].sort());
    assert.match(up.rows.find((r) => r.peer === leaderId)!.text, /leader.*ballot n=\d+/);
    await screenshot(page, 1);

    await c.stopNode(victim);
    const down = ids[victim];
    await until(page, "the stopped member shown unreachable, its links gone", (s) => {
      const row = s.rows.find((r) => r.peer === down);
      const others = ids.filter((p) => p !== down);
      return row?.reachable === "false" && /unreachable/.test(row.text) &&
        others.every((p) => state(s, down, p) === "unknown" && state(s, p, down) === "missing") &&
        state(s, others[0], others[1]) === "ok" && state(s, others[1], others[0]) === "ok" &&
        s.leaderId === leaderId;
    });

    const node = c.node(viewed);
    await node.execute("CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT)");
    for (let i = 0; i < 30; i++) await node.execute("INSERT INTO kv VALUES (?, ?)", [i, `v${i}`]);
    for (let i = 0; i < 10; i++) {
      const r: Response = await fetch(`${url}/db/query?q=${encodeURIComponent("SELECT count(*) FROM kv")}`);
      assert.equal(r.status, 200);
      await r.body?.cancel();
    }
    const rates = await until(
      page,
      "a non-zero point on the write and read rate series",
      (s) => s.writes.some((v) => v > 0) && s.reads.some((v) => v > 0),
    );
    assert.ok(rates.writes.every((v) => Number.isFinite(v) && v >= 0), JSON.stringify(rates.writes));
    await screenshot(page, 2);
    assert.equal(rates.stale, "false");
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await c.stop();
  }
});

test("dashboard in Chromium degrades: no leader, unreachable members, the node itself unreachable", {
  skip: skipBrowser,
}, async () => {
  await withApi(async ({ url }) => {
    const [a, b, x] = [
      "12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "12D3KooWBbbbbbbbbbbbbbbbbbbbbbb",
      "<b>x</b>",
    ];
    let t = Date.now();
    const view = (): DashboardData => ({
      self: a,
      time: t += 1000,
      leader: null,
      node: {
        role: "follower",
        phase: "prepare",
        isLeader: false,
        quorumConnected: false,
        configId: 1,
        decidedIdx: 5,
        acceptedIdx: 5,
        compactedIdx: 0,
        appliedIdx: 5,
      },
      members: [
        { peerId: a, self: true, reachable: true, claimsLeadership: false, connected: [], decidedIdx: 5 },
        { peerId: b, self: false, reachable: false, claimsLeadership: false, error: "dial refused" },
        // A member that answers but has no session with anyone (and a name that must not be parsed as HTML).
        { peerId: x, self: false, reachable: true, claimsLeadership: true, connected: [a] },
      ],
      counters: { decidedIdx: 5, httpExecute: 0, httpQuery: 0, httpRequest: 0 },
    });
    let fail = false;
    let browser: Browser | undefined;
    try {
      browser = await launch();
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.route("**/dashboard/data**", async (route) => {
        if (fail) await route.abort("connectionrefused");
        else {await route.fulfill({
            status: 200,
            contentType: "application/json",
            body: JSON.stringify(view()),
          });}
      });
      await page.goto(`${url}/?interval=200`);
      const s = await until(page, "the no-leader view", (s) => s.rows.length === 3 && s.cells.length === 9);
      assert.equal(s.leaderId, null);
      assert.match(s.leaderText, /No leader known/);
      assert.equal(s.leaderClass, "none");
      assert.deepEqual(s.rows.map((r) => [r.peer, r.reachable, r.leader]), [
        [a, "true", "false"],
        [b, "false", "false"],
        [x, "true", "false"],
      ]);
      assert.match(s.rows[1].text, /unreachable.*dial refused/);
      assert.match(s.rows[2].text, /claims leadership/);
      assert.deepEqual([state(s, b, a), state(s, a, b), state(s, a, x), state(s, x, a), state(s, x, b)], [
        "unknown",
        "missing",
        "missing",
        "ok",
        "missing",
      ]);
      // The peer ID with markup shows as text: no <b> element was made from it.
      assert.equal(await page.locator("#members b").count(), 0);

      fail = true;
      const stale = await until(page, "the stale banner", (s) => s.stale === "true");
      assert.equal(stale.rows.length, 3, "the last view stays on screen");
      assert.match(await page.locator("#status").innerText(), /cannot reach this node/);
      await screenshot(page, 3);
      fail = false;
      await until(page, "recovery after the node answers again", (s) => s.stale === "false");
      assert.deepEqual(errors, []);
    } finally {
      await browser?.close();
    }
  });
});
