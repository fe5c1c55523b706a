/**
 * The HTTP API with a users file: every endpoint needs its permission, an unauthenticated request gets 401
 * (with a challenge), an unauthorised one 403, and neither changes anything — no log entry, no row, no
 * membership change. Allowed requests work with Basic credentials, bearer tokens and HttpClient.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { HttpClient, HttpClientError } from "../../src/client/http_client.ts";
import { hashPassword, hashToken } from "../../src/server/http/password.ts";
import { parseUsers, type Users } from "../../src/server/http/users.ts";
import { ChiselStore } from "../../src/server/node.ts";
import { type Api, withApi } from "./helpers.ts";

const FAST = { N: 1024, r: 8, p: 1 };
const TOKEN = "bot-token-0123456789abcdef0123456789abcdef";

async function users(): Promise<Users> {
  const pw = (p: string) => hashPassword(p, FAST);
  return parseUsers(JSON.stringify([
    { username: "admin", password: await pw("admin-pw"), perms: ["all"] },
    { username: "reader", password: await pw("reader-pw"), perms: ["query"] },
    { username: "writer", password: await pw("writer-pw"), perms: ["execute"] },
    { username: "bot", tokens: [hashToken(TOKEN)], perms: ["execute", "query"] },
    { username: "*", perms: ["ready"] },
  ]));
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const ADMIN = basic("admin", "admin-pw");
const READER = basic("reader", "reader-pw");
const WRITER = basic("writer", "writer-pw");

async function call(
  url: string,
  method: string,
  path: string,
  authorization?: string,
  body?: unknown,
): Promise<{ status: number; text: string; challenge: string | null }> {
  const headers: Record<string, string> = {};
  if (authorization) headers["Authorization"] = authorization;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(url + path, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, text: await res.text(), challenge: res.headers.get("WWW-Authenticate") };
}

/** The node's state that a refused request must leave alone. */
async function snapshot(api: Api) {
  const st = api.node.status();
  const [rows] = await api.node.query("SELECT count(*) FROM t", { consistency: "none" });
  return { decided: st.consensus.decidedIdx, members: st.members, rows: rows.values };
}

test("refused requests: 401 without/with bad credentials, 403 without the permission; nothing changes", async () => {
  await withApi(async (api) => {
    await api.node.execute("CREATE TABLE t(x INTEGER)");
    const before = await snapshot(api);
    const insert = [["INSERT INTO t VALUES (?)", 1]];
    const { multiaddr, id } = await outsider();
    const refused: [string, string, string | undefined, unknown, number][] = [
      ["POST", "/db/execute", undefined, insert, 401],
      ["POST", "/db/execute", basic("reader", "wrong"), insert, 401],
      ["POST", "/db/execute", basic("nobody", "reader-pw"), insert, 401],
      ["POST", "/db/execute", `Bearer ${TOKEN}-not`, insert, 401],
      ["POST", "/db/execute", "Digest user=admin", insert, 401],
      ["POST", "/db/execute", READER, insert, 403],
      ["POST", "/db/request", READER, insert, 403],
      ["POST", "/db/request", READER, ["SELECT 1", ...insert], 403],
      ["POST", "/db/request", WRITER, ["SELECT 1", ...insert], 403],
      ["POST", "/db/request", undefined, insert, 401],
      ["POST", "/db/query", WRITER, ["SELECT * FROM t"], 403],
      ["GET", "/db/query?q=SELECT%201", undefined, undefined, 401],
      ["GET", "/status", READER, undefined, 403],
      ["GET", "/status", undefined, undefined, 401],
      ["GET", "/nodes", WRITER, undefined, 403],
      ["GET", "/metrics", undefined, undefined, 401],
      ["GET", "/db/checksum", READER, undefined, 403],
      ["GET", "/", undefined, undefined, 401],
      ["GET", "/dashboard/data", READER, undefined, 403],
      ["POST", "/cluster/join", READER, { addr: multiaddr }, 403],
      ["POST", "/cluster/join", undefined, { addr: multiaddr }, 401],
      ["POST", "/cluster/remove", WRITER, { id }, 403],
      ["POST", "/cluster/remove", `Bearer ${TOKEN}`, { id: api.node.peerId }, 403],
    ];
    for (const [method, path, auth, body, want] of refused) {
      const r = await call(api.url, method, path, auth, body);
      const what = `${method} ${path} as ${auth ?? "anonymous"}`;
      assert.equal(r.status, want, `${what}: ${r.text}`);
      assert.match(
        JSON.parse(r.text).error,
        want === 401 ? /credentials|authentication|Authorization/ : /lacks/,
      );
      if (want === 401) assert.match(r.challenge ?? "", /^Basic realm="chiselstore"/, what);
      else assert.equal(r.challenge, null, what);
    }
    assert.deepEqual(await snapshot(api), before, "no refused request changed anything");
    // Unknown endpoints are not worth authenticating: still 404.
    assert.equal((await call(api.url, "GET", "/nope")).status, 404);
  }, { users: await users() });
});

test("allowed requests: each permission opens its endpoints; tokens; '*' for /readyz; HttpClient", async () => {
  await withApi(async (api) => {
    const ok = async (method: string, path: string, auth?: string, body?: unknown) => {
      const r = await call(api.url, method, path, auth, body);
      assert.equal(r.status, 200, `${method} ${path}: ${r.text}`);
      return JSON.parse(r.text.startsWith("[+]") ? "{}" : r.text.startsWith("<") ? "{}" : r.text);
    };
    await ok("POST", "/db/execute", WRITER, ["CREATE TABLE t(x INTEGER)", ["INSERT INTO t VALUES (?)", 1]]);
    const q = await ok("POST", "/db/query", READER, ["SELECT x FROM t"]);
    assert.deepEqual(q.results[0].values, [[1]]);
    await ok("POST", "/db/request", READER, ["SELECT count(*) FROM t"]);
    await ok("POST", "/db/request", WRITER, [["INSERT INTO t VALUES (?)", 2]]);
    const mixed = await ok("POST", "/db/request", `Bearer ${TOKEN}`, [
      ["INSERT INTO t VALUES (?)", 3],
      "SELECT count(*) FROM t",
    ]);
    assert.deepEqual(mixed.results[1].values, [[3]]);
    await ok("GET", "/readyz"); // anonymous: "*" holds ready
    await ok("GET", "/readyz", READER); // and so does every user
    const status = await ok("GET", "/status", ADMIN);
    assert.equal(status.http.auth, "enabled");
    await ok("GET", "/nodes", ADMIN);
    await ok("GET", "/", ADMIN);

    const client = new HttpClient(api.url, { auth: { username: "admin", password: "admin-pw" } });
    assert.equal((await client.execute("INSERT INTO t VALUES (4)")).results[0].rowsAffected, 1);
    const [r] = await new HttpClient(api.url, { auth: { token: TOKEN } }).query("SELECT count(*) FROM t");
    assert.deepEqual(r.values, [[4]]);
    for (
      const c of [
        new HttpClient(api.url),
        new HttpClient(api.url, { auth: { username: "admin", password: "x" } }),
      ]
    ) {
      await assert.rejects(c.execute("INSERT INTO t VALUES (5)"), (e: unknown) => {
        assert.ok(e instanceof HttpClientError);
        assert.equal(e.status, 401);
        return true;
      });
    }
    const reader = new HttpClient(api.url, { auth: { username: "reader", password: "reader-pw" } });
    await assert.rejects(
      reader.execute("INSERT INTO t VALUES (5)"),
      (e: unknown) => (e as HttpClientError).status === 403,
    );
    assert.deepEqual((await reader.query("SELECT count(*) FROM t"))[0].values, [[4]]);
  }, { users: await users() });
});

test("without a users file nothing is asked: /status says auth disabled", async () => {
  await withApi(async (api) => {
    const r = await call(api.url, "GET", "/status");
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.text).http.auth, "disabled");
    assert.equal((await call(api.url, "POST", "/db/execute", undefined, ["CREATE TABLE t(x)"])).status, 200);
  });
});

/** A valid multiaddr of a peer that is no member (for /cluster/join and /cluster/remove). */
async function outsider(): Promise<{ multiaddr: string; id: string }> {
  const id = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
  return { multiaddr: `/ip4/127.0.0.1/tcp/9/p2p/${id}`, id };
}

test("ChiselStore.start({ http, httpOptions: { users } }) serves the API with the users file", async () => {
  const node = await ChiselStore.start({
    memory: true,
    tickMs: 5,
    electionTicks: 4,
    http: "127.0.0.1:0",
    httpOptions: { users: await users() },
  });
  try {
    const url = node.status().httpUrl!;
    assert.equal((await call(url, "GET", "/status")).status, 401);
    assert.equal((await call(url, "GET", "/status", READER)).status, 403);
    assert.equal((await call(url, "GET", "/status", ADMIN)).status, 200);
  } finally {
    await node.stop();
  }
});
