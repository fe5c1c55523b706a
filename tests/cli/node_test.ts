/** `chiselstore node` for real: a single node and a two-node cluster, driven through the shell and status. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { join } from "node:path";
import { waitFor } from "../net/wait.ts";
import { runCli, type Running, startCli, stopCli, waitForOutput, withTempDir } from "./helpers.ts";

const URL_LINE = /HTTP API +(http:\/\/\S+)\n/;

test("single node: prints its identity and URL, serves the shell and status, locks its data dir, stops on SIGTERM", () =>
  withTempDir(async (dir) => {
    const data = join(dir, "n1");
    let node: Running | undefined;
    try {
      node = startCli(["node", "--data", data, "--http", "127.0.0.1:0", "--log-format", "json"]);
      const [, url] = await waitForOutput(node, URL_LINE);
      const id = await runCli(["id", "--data", data]);
      assert.match(node.stdout(), new RegExp(`^peer ID +${id.stdout.split("\n")[0]}\n`));
      assert.doesNotMatch(node.stdout(), /multiaddr/); // alone: no libp2p listener

      const sql =
        "CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER);\nINSERT INTO kv VALUES ('a', 1), ('b;', 2);\n" +
        "SELECT k, v FROM kv ORDER BY k;\n";
      const shell = await runCli(["shell", url], { input: sql });
      assert.equal(shell.code, 0, shell.stdout + shell.stderr);
      assert.equal(
        shell.stdout,
        "0 rows affected\n2 rows affected\n+----+---+\n| k  | v |\n+----+---+\n| a  | 1 |\n| b; | 2 |\n+----+---+\n",
      );
      const bad = await runCli(["shell", url], { input: "SELECT * FROM missing;\nSELECT 1 AS one;\n" });
      assert.equal(bad.code, 1);
      assert.match(bad.stdout, /^Error: .*no such table: missing\n\+-----\+\n\| one \|/);

      const status = await runCli(["status", url]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /^node +12D3KooW\S+ \(leader\)\n/);
      assert.match(status.stdout, /indexes +applied [1-9]/);
      assert.match(status.stdout, /Members \(1, 1 reachable\):/);

      const second = await runCli(["node", "--data", data, "--http", "127.0.0.1:0"]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /data directory .* is in use by another node \(process \d+\)/);

      assert.equal(await stopCli(node), 0);
      const logs = node.stderr().trim().split("\n").map((l) =>
        JSON.parse(l) as { time: string; level: string; msg: string }
      );
      assert.ok(logs.every((l) => !Number.isNaN(Date.parse(l.time))));
      assert.ok(
        logs.some((l) => l.level === "info" && /^leader is now 12D3KooW\S+ \(this node\)$/.test(l.msg)),
      );
      assert.equal(logs.at(-1)!.msg, "stopped");

      // Restart on the same directory: the lock was released and the data is still there.
      node = startCli(["node", "--data", data, "--http", "127.0.0.1:0"]);
      const [, url2] = await waitForOutput(node, URL_LINE);
      const again = await runCli(["shell", url2], { input: "SELECT count(*) AS n FROM kv;" });
      assert.equal(again.stdout, "+---+\n| n |\n+---+\n| 2 |\n+---+\n");
    } finally {
      if (node) await stopCli(node);
    }
  }));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test("two nodes from --peers: they connect, replicate, and both report the cluster", () =>
  withTempDir(async (dir) => {
    const names = ["a", "b"];
    const ports = [await freePort(), await freePort()];
    const addrs: string[] = [];
    for (const [i, n] of names.entries()) {
      const r = await runCli(["id", "--data", join(dir, n), "--listen", `/ip4/127.0.0.1/tcp/${ports[i]}`]);
      addrs.push(r.stdout.split("\n")[1]);
    }
    const nodes: Running[] = [];
    try {
      for (const [i, n] of names.entries()) {
        nodes.push(startCli(["node", "--listen", `/ip4/127.0.0.1/tcp/${ports[i]}`, "--http", "127.0.0.1:0"], {
          env: {
            CHISELSTORE_DATA: join(dir, n),
            CHISELSTORE_PEERS: addrs[1 - i],
            CHISELSTORE_ELECTION_MS: "200",
          },
        }));
      }
      const urls: string[] = [];
      for (const [i, n] of nodes.entries()) {
        urls.push((await waitForOutput(n, URL_LINE))[1]);
        assert.match(n.stdout(), new RegExp(`multiaddr +${addrs[i].replace(/[/]/g, "\\/")}\n`));
      }
      const w = await runCli(["shell", urls[1]], {
        input: "CREATE TABLE t(x);\nINSERT INTO t VALUES (42);\n",
      });
      assert.equal(w.code, 0, w.stdout + w.stderr);
      await waitFor(
        async () => {
          const r = await runCli(["shell", "--consistency", "none", urls[0]], { input: "SELECT x FROM t;" });
          return r.code === 0 && r.stdout.includes("| 42 |");
        },
        20_000,
        "the write to reach node a",
      );
      const st = await runCli(["status", urls[0]]);
      assert.match(st.stdout, /sessions +1 of 1 peers: 12D3KooW/);
      assert.match(st.stdout, /Members \(2, 2 reachable\):/);
      for (const n of nodes) assert.match(n.stderr(), / INFO connected to 12D3KooW\S+\n/);
    } finally {
      for (const n of nodes) await stopCli(n);
    }
    for (const n of nodes) assert.equal(n.child.exitCode, 0, n.stderr());
  }));
