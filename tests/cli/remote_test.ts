/** status, join, remove and the piped shell against a fake HTTP server speaking rqlite's JSON. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatStatus } from "../../src/cli/status.ts";
import { type FakeRequest, fakeServer, runCli } from "./helpers.ts";

const A = "12D3KooWGzXk5JqvG8xhz2ikZyTXoFpHyrFcHXiDbBMPGJ4nEC2r";
const B = "12D3KooWLpYtxe8Smsmy6ug7D3X1DA2mGyU8NhMz1Dp9R5ti9QDN";
const ADDR_B = `/ip4/127.0.0.1/tcp/7402/p2p/${B}`;

const STATUS = {
  http: { url: "http://127.0.0.1:4001" },
  store: {
    node_id: A,
    members: [A, B],
    leader: { node_id: A },
    is_leader: true,
    data_dir: "./data",
    applied_index: 12,
    connected: [],
    multiaddrs: ["/ip4/127.0.0.1/tcp/7401/p2p/" + A],
    raft: {
      state: "Leader",
      decided_index: 12,
      accepted_index: 13,
      compacted_index: 4,
      quorum_connected: false,
    },
  },
};
const NODES = {
  [A]: {
    id: A,
    api_addr: "http://127.0.0.1:4001",
    reachable: true,
    leader: true,
    applied_index: 12,
    decided_index: 12,
  },
  [B]: { id: B, reachable: false, leader: false, error: "dial timeout" },
};

test("formatStatus: members, leader, indexes, sessions and reachability", () => {
  const lines = formatStatus(STATUS, NODES);
  assert.deepEqual(lines.slice(0, 9), [
    `node       ${A} (leader)`,
    `leader     ${A}`,
    "state      Leader (not quorum-connected)",
    "indexes    applied 12, decided 12, accepted 13, compacted 4",
    "sessions   0 of 1 peers",
    "http       http://127.0.0.1:4001",
    "data       ./data",
    `listening  /ip4/127.0.0.1/tcp/7401/p2p/${A}`,
    "",
  ]);
  assert.equal(lines[9], "Members (2, 1 reachable):");
  const rowA = lines.find((l) => l.includes(`${A} *`));
  const rowB = lines.find((l) => l.includes(B) && !l.startsWith("node") && !l.startsWith("leader"));
  assert.match(rowA!, /\| leader +\| yes +\| +12 \| +12 \| http:\/\/127\.0\.0\.1:4001 \|$/);
  assert.match(rowB!, /\| follower \| no \(dial timeout\) \| +\| +\| +\|$/);
  // rqlite's ?ver=2 shape gives the same rows.
  assert.deepEqual(formatStatus(STATUS, { nodes: Object.values(NODES) }), lines);
});

test("status: GET /status and /nodes; --json prints both raw", async () => {
  const s = await fakeServer((r) => ({
    body: r.url === "/status" ? STATUS : r.url === "/nodes" ? NODES : {},
  }));
  try {
    const r = await runCli(["status", s.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split("\n"), [...formatStatus(STATUS, NODES), ""]);
    assert.deepEqual(s.requests.map((q) => `${q.method} ${q.url}`).sort(), ["GET /nodes", "GET /status"]);
    const j = await runCli(["status", "--json", s.url.replace("http://", "")]);
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual(JSON.parse(j.stdout), { status: STATUS, nodes: NODES });
  } finally {
    await s.close();
  }
});

test("join and remove: request shape, the server's answer, its errors, and 404 from an older server", async () => {
  let mode: "ok" | "refuse" | "old" = "ok";
  const s = await fakeServer((r) => {
    if (mode === "old") return { status: 404, body: { error: "not found" } };
    if (mode === "refuse") {
      return { status: 503, body: { error: "reconfiguration in progress", code: "reconfiguring" } };
    }
    return {
      body: r.url === "/cluster/join" ? { joined: B, members: [A, B] } : { removed: B, members: [A] },
    };
  });
  try {
    const join = await runCli(["join", ADDR_B, "--url", s.url]);
    assert.equal(join.code, 0, join.stderr);
    assert.deepEqual(JSON.parse(join.stdout), { joined: B, members: [A, B] });
    const remove = await runCli(["remove", B, "--url", s.url]);
    assert.equal(remove.code, 0, remove.stderr);
    assert.deepEqual(JSON.parse(remove.stdout), { removed: B, members: [A] });
    assert.deepEqual(s.requests.map((q: FakeRequest) => [q.method, q.url, JSON.parse(q.body)]), [
      ["POST", "/cluster/join", { addr: ADDR_B }],
      ["POST", "/cluster/remove", { id: B }],
    ]);
    mode = "refuse";
    const refused = await runCli(["remove", B, "--url", s.url]);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      "chiselstore remove: POST /cluster/remove: HTTP 503: reconfiguration in progress\n",
    );
    mode = "old";
    const old = await runCli(["join", ADDR_B, "--url", s.url]);
    assert.equal(old.code, 1);
    assert.equal(old.stderr, "chiselstore join: this server does not support membership changes yet\n");
  } finally {
    await s.close();
  }
});

/** A fake node: one table t(id, name) with two rows; DROP is refused, unknown tables are SQL errors. */
function fakeSql(r: FakeRequest): { status?: number; body: unknown } {
  if (r.method === "GET") {
    return r.url === "/status" ? { body: STATUS } : { status: 404, body: { error: "not found" } };
  }
  const [sql] = JSON.parse(r.body) as string[];
  const rows = { columns: ["id", "name"], types: ["integer", "text"], values: [[1, "a;b"], [2, null]] };
  if (/sqlite_master/.test(sql)) {
    return { body: { results: [{ columns: ["name"], types: ["text"], values: [["t"]] }] } };
  }
  if (/FROM t\b/.test(sql)) return { body: { results: [rows] } };
  if (/FROM nope/.test(sql)) return { body: { results: [{ error: "no such table: nope" }] } };
  if (/^INSERT/.test(sql)) return { body: { results: [{ last_insert_id: 2, rows_affected: 2 }] } };
  if (/^CREATE/.test(sql)) return { body: { results: [{}] } };
  return { status: 400, body: { error: "statement refused", code: "bad-request" } };
}

test("shell, piped: statements across lines, dot-commands, tables; exit 0 when all succeed", async () => {
  const s = await fakeServer(fakeSql);
  try {
    const input = [
      "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT);",
      "INSERT INTO t(name)",
      "  VALUES ('a;b'), (NULL);",
      ".consistency strong",
      "SELECT * FROM t; SELECT name",
      "  FROM t;",
      ".tables",
      ".consistency",
      "SELECT id FROM t", // no final ';': run at the end of the input, like sqlite3
    ].join("\n");
    const r = await runCli(["shell", s.url], { input });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const table = [
      "+----+------+",
      "| id | name |",
      "+----+------+",
      "|  1 | a;b  |",
      "|  2 | NULL |",
      "+----+------+",
    ];
    assert.deepEqual(r.stdout.split("\n"), [
      "0 rows affected",
      "2 rows affected",
      ...table,
      ...table,
      "t",
      "strong",
      ...table,
      "",
    ]);
    assert.equal(r.stderr, "");
    assert.equal(`${s.requests[0].method} ${s.requests[0].url}`, "GET /status");
    const sent = s.requests.slice(1).map((q) => [q.url, JSON.parse(q.body)[0]]);
    assert.deepEqual(sent, [
      ["/db/request?level=weak", "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)"],
      ["/db/request?level=weak", "INSERT INTO t(name)\n  VALUES ('a;b'), (NULL)"],
      ["/db/request?level=strong", "SELECT * FROM t"],
      ["/db/request?level=strong", "SELECT name\n  FROM t"],
      ["/db/query?level=strong", sent[4][1]],
      ["/db/request?level=strong", "SELECT id FROM t"],
    ]);
    assert.match(sent[4][1], /^SELECT name FROM sqlite_master WHERE type = 'table'/);
  } finally {
    await s.close();
  }
});

test("shell, piped: failures print Error: and the session goes on, then exits 1", async () => {
  const s = await fakeServer(fakeSql);
  try {
    const input =
      "SELECT * FROM nope;\nDROP TABLE t;\n.frobnicate\n.consistency sometimes\nSELECT * FROM t;\n";
    const r = await runCli(["shell", "--consistency", "none", s.url], { input });
    assert.equal(r.code, 1);
    const out = r.stdout.split("\n");
    assert.deepEqual(out.slice(0, 4), [
      "Error: no such table: nope",
      "Error: statement refused",
      "Error: unknown command .frobnicate; enter .help for the list",
      'Error: unknown consistency level "sometimes" (none, weak, linearizable, strong)',
    ]);
    assert.equal(out[5], "| id | name |");
    assert.equal(s.requests.at(-1)!.url, "/db/request?level=none");
    const quit = await runCli(["shell", s.url], { input: ".quit\nSELECT * FROM nope;\n" });
    assert.deepEqual([quit.code, quit.stdout], [0, ""]);
    const help = await runCli(["shell", s.url], { input: ".help\n.timer on\nSELECT * FROM t;\n" });
    assert.equal(help.code, 0);
    for (
      const c of [
        ".tables",
        ".schema [table]",
        ".status",
        ".nodes",
        ".consistency [level]",
        ".timer on|off",
        ".quit",
      ]
    ) {
      assert.match(help.stdout, new RegExp(`^${c.replace(/[.[\]|]/g, "\\$&")} +\\S`, "m"));
    }
    assert.match(help.stdout, /\+----\+------\+\nRun Time: \d+\.\d{3}s\n$/);
  } finally {
    await s.close();
  }
});
