/**
 * The original demo's chained topology with real processes: `gouged --id 1 --peers 2 3`, `--id 2 --peers 1`,
 * `--id 3 --peers 1`. Nodes 2 and 3 are not linked; node 1, the only node linked to both, must lead, a
 * write through node 2 must reach node 3, and gouge must print it.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { waitFor } from "../net/wait.ts";
import { runExample, type Running, startExample, stopExample } from "./helpers.ts";

interface Status {
  id: number;
  leader: number | null;
  isLeader: boolean;
  members: number[];
  links: number[];
  connected: number[];
  appliedIdx: number;
}

// Fixed demo ports, shifted out of the way of a demo someone may be running (and of other test runs).
const OFFSET = 100 + 10 * Math.floor(Math.random() * 480);
const ENV = { GOUGED_PORT_OFFSET: String(OFFSET) };
const url = (id: number) => `http://127.0.0.1:${41000 + OFFSET + id}`;

async function status(id: number): Promise<Status | undefined> {
  try {
    const res = await fetch(`${url(id)}/status`);
    return res.ok ? (await res.json()) as Status : undefined;
  } catch {
    return undefined;
  }
}

test("chained demo: node 1 leads, a write through node 2 is read on node 3", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gouged-test-"));
  const nodes: Running[] = [];
  try {
    for (const [id, peers] of [[1, ["2", "3"]], [2, ["1"]], [3, ["1"]]] as const) {
      nodes.push(
        startExample(
          "gouged.ts",
          ["--id", String(id), "--peers", ...peers, "--data", join(dir, `n${id}`)],
          ENV,
        ),
      );
    }
    const all = [1, 2, 3];
    await waitFor(
      async () => {
        const s = await Promise.all(all.map(status));
        return s.every((x) => x?.leader === 1) && s[0]?.isLeader === true;
      },
      15_000,
      "node 1 to lead and nodes 2 and 3 to follow it",
    );
    const st = await Promise.all(all.map(status)) as Status[];
    assert.deepEqual(st.map((s) => s.isLeader), [true, false, false]);
    assert.deepEqual(st.map((s) => s.members), [all, all, all]);
    assert.deepEqual(st.map((s) => s.links), [[2, 3], [1], [1]]);
    // Nodes 2 and 3 never get a session with each other.
    assert.deepEqual(st[1].connected, [1]);
    assert.deepEqual(st[2].connected, [1]);

    const w = await runExample("gouge.ts", [
      "--node",
      "2",
      "CREATE TABLE t (x INTEGER, s TEXT)",
      "INSERT INTO t VALUES (42, 'via node 2')",
    ], { env: ENV });
    assert.equal(w.code, 0, w.stdout + w.stderr);
    assert.equal(w.stdout, "ok (0 rows changed)\nok (1 row changed)\n");

    // Node 3 applies the write through node 1; its own copy answers the relaxed read.
    await waitFor(
      async () => ((await status(3))?.appliedIdx ?? 0) >= 2,
      10_000,
      "node 3 to apply both writes",
    );
    const r = await runExample("gouge.ts", ["--node", "3"], { env: ENV, input: "SELECT x, s FROM t\n" });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, "42 | via node 2\n");

    // A statement that fails is reported, with exit code 1.
    const bad = await runExample("gouge.ts", ["--node", "3", "INSERT INTO missing VALUES (1)"], { env: ENV });
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^error: .*no such table: missing/);

    assert.match(nodes[0].stderr(), /INSECURE dev identity/);
    assert.match(nodes[0].stdout(), /leader is now node 1 \(this node\)/);
  } finally {
    const codes = await Promise.all(nodes.map((n) => stopExample(n)));
    await rm(dir, { recursive: true, force: true });
    // A clean stop on SIGTERM (checked after cleanup so a failure cannot leave processes behind).
    assert.deepEqual(codes, nodes.map(() => 0), nodes.map((n) => n.stderr()).join("\n"));
    for (const n of nodes) assert.match(n.stdout(), /\] stopped\n$/);
  }
});
