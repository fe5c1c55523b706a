/**
 * End to end through the CLI: a 3-node cluster of real `chiselstore node` processes. Write through one
 * node's HTTP API, read from another at every consistency level, use the shell non-interactively, talk to
 * it with the npm rqlite client, and see the leader on the dashboard in headless Chromium.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DataApiClient } from "rqlite-js";
import { runCli } from "../cli/helpers.ts";
import { browserSkip, launch } from "../dashboard/browser.ts";
import { ProcCluster } from "../crash/harness.ts";
import { waitFor } from "../net/wait.ts";

test("3 processes: HTTP writes, reads at every level elsewhere, shell, rqlite-js, dashboard", async () => {
  await ProcCluster.with(3, { electionMs: 200 }, async (c) => {
    const l = await c.leader();
    const [a, b, d] = [c.nodes[(l + 1) % 3], c.nodes[(l + 2) % 3], c.nodes[l]];
    // Writes through a follower's HTTP API (it forwards through the cluster; no redirect).
    await a.client.execute("CREATE TABLE visits(id INTEGER PRIMARY KEY, who TEXT)");
    for (const who of ["ann", "bob", "cyd"]) {
      const r = await a.client.execute("INSERT INTO visits(who) VALUES (?)", [who]);
      assert.equal(r.results[0].rowsAffected, 1);
    }
    // Reads from the other follower at each level.
    for (const consistency of ["weak", "linearizable", "strong"] as const) {
      const [r] = await b.client.query("SELECT count(*) FROM visits", [], { consistency });
      assert.deepEqual(r.values, [[3]], consistency);
    }
    await waitFor(
      async () => {
        const [r] = await b.client.query("SELECT count(*) FROM visits", [], { consistency: "none" });
        return r.values?.[0]?.[0] === 3;
      },
      10_000,
      "the follower's own state (level none) to catch up",
    );

    // The shell, piped, against the leader.
    const shell = await runCli(["shell", d.url], { input: "SELECT who FROM visits ORDER BY id;\n.nodes\n" });
    assert.equal(shell.code, 0, shell.stderr);
    assert.match(shell.stdout, /ann[\s\S]*bob[\s\S]*cyd/);
    for (const n of c.nodes) {
      assert.ok(shell.stdout.includes(n.peerId.slice(0, 12)), ".nodes lists every member");
    }

    // The npm rqlite client, unmodified.
    const rq = new DataApiClient(b.url);
    const ins = await rq.execute([["INSERT INTO visits(who) VALUES (?)", "dee"]]);
    assert.equal(ins.hasError(), false);
    const rows = await rq.query("SELECT count(*) AS n FROM visits", { level: "linearizable" });
    assert.equal(rows.hasError(), false);

    // The dashboard, in Chromium (CI installs it; elsewhere it is skipped only when absent and not CI).
    const skip = browserSkip();
    if (skip) {
      console.log(`dashboard check skipped: ${skip}`);
      return;
    }
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await page.goto(`${a.url}/`);
      await waitFor(
        async () => {
          // Evaluated in the page (this file is not compiled with the DOM library).
          const leaderId = await page.evaluate<string>(
            `document.getElementById("leader-id")?.textContent ?? ""`,
          );
          const count = await page.evaluate<string>(
            `document.getElementById("member-count")?.textContent ?? ""`,
          );
          return leaderId.includes(d.peerId) && count.includes("3");
        },
        20_000,
        "the dashboard to show 3 members and the leader",
      );
    } finally {
      await browser.close();
    }
  });
});
