/**
 * The public API as users import it (mod.ts): an embedded single-node cluster from `{ dataDir }` alone,
 * both call shapes, every consistency level, restart from disk, connect() over HTTP and over libp2p, and the
 * consensus core still exported flat and as a namespace.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as api from "../../mod.ts";
import { ChiselStore, connect, CONSISTENCY_LEVELS, HttpClient, NodeError, P2pClient } from "../../mod.ts";
import type { CommandResult, SqlApi, StatementResult } from "../../mod.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "chisel-api-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The rows of the first result, asserting there was no error. */
function rows(results: StatementResult[]): unknown[][] {
  assert.equal(results[0]?.error, undefined, `query failed: ${results[0]?.error}`);
  return results[0].values ?? [];
}

/** The same script through a node or either client: the call shapes they share. */
async function exercise(db: SqlApi, table: string): Promise<void> {
  await db.execute(`CREATE TABLE ${table}(a INTEGER, b TEXT)`);
  const one: CommandResult = await db.execute(`INSERT INTO ${table}(a, b) VALUES (?, ?)`, [1, "x"]);
  assert.equal(one.results[0].rowsAffected, 1);
  await db.execute(`INSERT INTO ${table}(a, b) VALUES (:a, :b)`, { a: 2, b: "y" });
  const batch = await db.execute([
    `INSERT INTO ${table}(a, b) VALUES (3, 'z')`,
    { sql: `INSERT INTO ${table}(a, b) VALUES (?, ?)`, params: [4, "w"] },
  ], { transaction: true });
  assert.deepEqual(batch.results.map((r) => r.rowsAffected), [1, 1]);
  for (const consistency of CONSISTENCY_LEVELS) {
    const r = await db.query(`SELECT a, b FROM ${table} WHERE a >= ? ORDER BY a`, [2], { consistency });
    assert.deepEqual(rows(r), [[2, "y"], [3, "z"], [4, "w"]], consistency);
  }
  // (sql, options): an object of option names is options, not named parameters.
  assert.deepEqual(rows(await db.query(`SELECT count(*) FROM ${table}`, { consistency: "strong" })), [[4]]);
  assert.deepEqual(rows(await db.query([`SELECT max(a) FROM ${table}`])), [[4]]);
  // SQL errors are results, refused statements are NodeErrors with a code.
  assert.match((await db.query("SELECT * FROM missing"))[0].error ?? "", /no such table/);
  await assert.rejects(
    db.execute("ATTACH DATABASE 'x' AS y"),
    (e) => e instanceof NodeError && e.code === "bad-request",
  );
}

test("an embedded node needs only { dataDir }: execute, query at every level, status, restart", {
  timeout: 60_000,
}, async () => {
  await withDir(async (dataDir) => {
    const node = await ChiselStore.start({ dataDir, fsync: "never" });
    try {
      await exercise(node, "t");
      const st = node.status();
      assert.equal(st.isLeader, true);
      assert.deepEqual(st.members, [node.peerId]);
      assert.equal(st.dataDir, dataDir);
      assert.equal(st.multiaddrs.length, 0, "no network without peers or listen addresses");
      assert.ok(st.appliedIdx >= 4);
      // Exactly-once: a retry with the same request id gets the first result and changes nothing.
      const requestId = { clientId: "mod-test", seq: 1 };
      const first = await node.execute("INSERT INTO t(a, b) VALUES (?, ?)", [5, "v"], { requestId });
      const retry = await node.execute("INSERT INTO t(a, b) VALUES (?, ?)", [5, "v"], { requestId });
      assert.equal(retry.duplicate, true);
      assert.equal(retry.index, first.index);
      assert.deepEqual(rows(await node.query("SELECT count(*) FROM t WHERE a = 5")), [[1]]);
    } finally {
      await node.stop();
    }
    await assert.rejects(node.query("SELECT 1"), (e) => e instanceof NodeError && e.code === "stopped");
    const again = await ChiselStore.start({ dataDir, fsync: "never" });
    try {
      const r = await again.query("SELECT count(*) FROM t", [], {
        consistency: "linearizable",
        timeoutMs: 10_000,
      });
      assert.deepEqual(rows(r), [[5]]);
    } finally {
      await again.stop();
    }
  });
});

test("connect(): an HTTP URL gives an HttpClient, a multiaddr a P2pClient, with the node's call shapes", {
  timeout: 60_000,
}, async () => {
  const node = await ChiselStore.start({
    memory: true,
    http: "127.0.0.1:0",
    listen: ["/ip4/127.0.0.1/tcp/0"],
    clients: "any",
  });
  try {
    const url = node.status().httpUrl;
    assert.ok(url, "the HTTP API advertises its URL");
    const http = await connect(url);
    assert.ok(http instanceof HttpClient);
    await exercise(http, "h");
    const httpStatus = await http.status();
    assert.equal((httpStatus.node as { id: string }).id, node.peerId);
    await http.close();

    const p2p = await connect(node.multiaddrs()[0]);
    assert.ok(p2p instanceof P2pClient);
    try {
      await exercise(p2p, "p");
      const st = await p2p.status();
      assert.equal(st.peerId, node.peerId);
      assert.equal(st.leader, true);
      assert.ok((st.appliedIdx ?? 0) >= 8);
    } finally {
      await p2p.close();
    }
    await assert.rejects(p2p.query("SELECT 1"), (e) => e instanceof NodeError && e.code === "stopped");
    await assert.rejects(
      connect("http://127.0.0.1:1"),
      (e) => e instanceof NodeError && e.code === "timeout",
    );
    await assert.rejects(
      connect("not a multiaddr"),
      (e) => e instanceof NodeError && e.code === "bad-request",
    );
  } finally {
    await node.stop();
  }
});

test("mod.ts keeps the consensus core flat and as the omnipaxos namespace", () => {
  assert.equal(api.OmniPaxos, api.omnipaxos.OmniPaxos);
  assert.equal(api.MemoryStorage, api.omnipaxos.MemoryStorage);
  assert.equal(typeof api.compareBallots, "function");
  assert.equal(typeof api.startHttpApi, "function");
  assert.equal(api.CLIENT_PROTOCOL, "/chiselstore/client/1.0.0");
  assert.equal(api.STATUS_PROTOCOL, "/chiselstore/status/1.0.0");
});
