import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../../src/cli/command.ts";
import { envLayer, fileLayer, loadNodeConfig, parseHostPort } from "../../src/cli/config.ts";
import { formatLogLine, makeLogger } from "../../src/cli/logger.ts";
import { nodeOptions } from "../../src/cli/node.ts";
import { withTempDir } from "./helpers.ts";

const PEER = "12D3KooWGzXk5JqvG8xhz2ikZyTXoFpHyrFcHXiDbBMPGJ4nEC2r";
const PEER_ADDR = `/ip4/127.0.0.1/tcp/7401/p2p/${PEER}`;

test("defaults: single node in ./data, HTTP on 127.0.0.1:4001, no libp2p listener", async () => {
  const { config } = await loadNodeConfig([], {});
  assert.deepEqual(config, {
    data: "./data",
    listen: [],
    peers: [],
    http: { host: "127.0.0.1", port: 4001 },
    httpCert: undefined,
    httpKey: undefined,
    httpCa: undefined,
    auth: undefined,
    relay: false,
    relayVia: undefined,
    join: undefined,
    clients: "members",
    fsync: "always",
    snapshotEntries: undefined,
    electionMs: undefined,
    logFormat: "text",
    logLevel: "info",
  });
  const opts = nodeOptions(config, () => {});
  assert.equal(opts.listen, undefined);
  assert.deepEqual(opts.peers, []);
});

test("flags: every setting, repeatable lists", async () => {
  const { config } = await loadNodeConfig([
    "--data=/d",
    "--listen",
    "/ip4/0.0.0.0/tcp/7400",
    "--listen",
    "/ip4/0.0.0.0/tcp/7500",
    "--peers",
    PEER_ADDR,
    "--http",
    "0.0.0.0:8080",
    "--relay",
    "--relay-via",
    PEER_ADDR,
    "--fsync",
    "batch",
    "--snapshot-entries",
    "500",
    "--election-ms",
    "1000",
    "--log-format",
    "json",
    "--log-level",
    "debug",
  ], {});
  assert.deepEqual(config.listen, ["/ip4/0.0.0.0/tcp/7400", "/ip4/0.0.0.0/tcp/7500"]);
  assert.deepEqual(config.peers, [PEER_ADDR]);
  assert.deepEqual(config.http, { host: "0.0.0.0", port: 8080 });
  assert.equal(config.relay, true);
  assert.equal(config.relayVia, PEER_ADDR);
  assert.equal(config.fsync, "batch");
  assert.equal(config.snapshotEntries, 500);
  assert.equal(config.electionMs, 1000);
  assert.equal(config.logFormat, "json");
  assert.equal(config.logLevel, "debug");
  const opts = nodeOptions(config, () => {});
  assert.equal(opts.electionTicks, 100);
  assert.equal(opts.tickMs, 10);
  assert.equal(opts.snapshotEntries, 500);
  assert.equal(opts.dataDir, "/d");
});

test("with peers and no --listen the node listens on the default port", async () => {
  const { config } = await loadNodeConfig(["--peers", PEER_ADDR], {});
  assert.deepEqual(nodeOptions(config, () => {}).listen, ["/ip4/0.0.0.0/tcp/7400"]);
});

test("environment: CHISELSTORE_* with comma-separated lists and textual booleans/integers", () => {
  const l = envLayer({
    CHISELSTORE_PEERS: ` ${PEER_ADDR} ,${PEER_ADDR}`,
    CHISELSTORE_RELAY: "yes",
    CHISELSTORE_SNAPSHOT_ENTRIES: "42",
    CHISELSTORE_FSYNC: "never",
    HOME: "/ignored",
  });
  assert.deepEqual(l.get("peers"), [PEER_ADDR, PEER_ADDR]);
  assert.equal(l.get("relay"), true);
  assert.equal(l.get("snapshot-entries"), 42);
  assert.equal(l.get("fsync"), "never");
  assert.equal(l.size, 4);
});

test("precedence: flags > env > file > defaults", () =>
  withTempDir(async (dir) => {
    const file = join(dir, "node.toml");
    await writeFile(
      file,
      `# a node\ndata = "/from-file"\nhttp = "127.0.0.1:5001"\nfsync = "batch"\nsnapshot-entries = 7\npeers = ["${PEER_ADDR}"]\nrelay = true\n`,
    );
    const env = { CHISELSTORE_CONFIG: file, CHISELSTORE_HTTP: "127.0.0.1:6001", CHISELSTORE_FSYNC: "never" };
    const { config } = await loadNodeConfig(["--fsync", "always"], env);
    assert.equal(config.data, "/from-file"); // file only
    assert.equal(config.snapshotEntries, 7); // file only
    assert.deepEqual(config.peers, [PEER_ADDR]);
    assert.equal(config.relay, true);
    assert.deepEqual(config.http, { host: "127.0.0.1", port: 6001 }); // env over file
    assert.equal(config.fsync, "always"); // flag over env over file
    assert.equal(config.electionMs, undefined); // default
    // --config on the command line wins over CHISELSTORE_CONFIG.
    const json = join(dir, "node.json");
    await writeFile(json, JSON.stringify({ data: "/from-json", "log-format": "json" }));
    const r = await loadNodeConfig(["--config", json], env);
    assert.equal(r.config.data, "/from-json");
    assert.equal(r.config.logFormat, "json");
  }));

function usageError(re: RegExp) {
  return (err: unknown) => err instanceof UsageError && re.test(err.message);
}

test("unknown keys and wrong types are UsageErrors naming the culprit", async () => {
  assert.throws(() => fileLayer("c.json", '{"datadir": "x"}'), usageError(/key "datadir": unknown setting/));
  assert.throws(() => fileLayer("c.json", '{"config": "x.json"}'), usageError(/key "config": unknown/));
  assert.throws(() => fileLayer("c.toml", "[node]\ndata = 'x'"), usageError(/key "node": unknown/));
  assert.throws(() => fileLayer("c.toml", "data = 1"), usageError(/key "data": expected a string/));
  assert.throws(() => fileLayer("c.toml", 'peers = "x"'), usageError(/key "peers": expected a list/));
  assert.throws(() => fileLayer("c.toml", 'snapshot-entries = "5"'), usageError(/expected an integer/));
  assert.throws(() => fileLayer("c.toml", "snapshot-entries = 0"), usageError(/at least 1/));
  assert.throws(() => fileLayer("c.toml", "data = "), usageError(/config file c\.toml:/));
  assert.throws(() => fileLayer("c.yaml", "data: x"), usageError(/must end in \.json or \.toml/));
  assert.throws(() => fileLayer("c.json", "[1]"), usageError(/expected an object/));
  assert.throws(() => envLayer({ CHISELSTORE_DATADIR: "x" }), usageError(/CHISELSTORE_DATADIR: unknown/));
  assert.throws(() => envLayer({ CHISELSTORE_RELAY: "maybe" }), usageError(/true or false/));
  assert.throws(() => envLayer({ CHISELSTORE_ELECTION_MS: "5" }), usageError(/at least 20/));
  await assert.rejects(loadNodeConfig(["--bogus"], {}), usageError(/bogus/));
  await assert.rejects(loadNodeConfig(["--fsync", "sometimes"], {}), usageError(/--fsync: expected always/));
  await assert.rejects(loadNodeConfig(["--peers", "/ip4/1.2.3.4/tcp/1"], {}), usageError(/--peers: .*p2p/));
  await assert.rejects(loadNodeConfig(["--peers", "not-an-addr"], {}), usageError(/--peers/));
  await assert.rejects(loadNodeConfig(["--listen", "nope"], {}), usageError(/--listen: not a multiaddr/));
  await assert.rejects(loadNodeConfig(["--http", "4001"], {}), usageError(/--http: expected host:port/));
  await assert.rejects(loadNodeConfig(["--config", "/nonexistent/x.toml"], {}), usageError(/config file/));
  await assert.rejects(loadNodeConfig(["stray"], {}), usageError(/stray/));
});

test("parseHostPort", () => {
  assert.deepEqual(parseHostPort("0.0.0.0:80"), { host: "0.0.0.0", port: 80 });
  assert.deepEqual(parseHostPort(":0"), { host: "127.0.0.1", port: 0 });
  assert.deepEqual(parseHostPort("[::1]:4001"), { host: "::1", port: 4001 });
  assert.deepEqual(parseHostPort("localhost:4001"), { host: "localhost", port: 4001 });
  for (const bad of ["4001", "host:", "h:70000", "h:p"]) assert.throws(() => parseHostPort(bad), /host:port/);
});

test("logger: text and JSON lines, level filter", () => {
  const t = new Date("2026-11-30T05:00:00.000Z");
  assert.equal(
    formatLogLine("text", t, "info", "leader is now x"),
    "2026-11-30T05:00:00.000Z INFO leader is now x",
  );
  assert.deepEqual(JSON.parse(formatLogLine("json", t, "warn", 'a "b"')), {
    time: "2026-11-30T05:00:00.000Z",
    level: "warn",
    msg: 'a "b"',
  });
  const lines: string[] = [];
  const log = makeLogger({ format: "text", minLevel: "info", write: (l) => lines.push(l), now: () => t });
  log("debug", "hidden");
  log("info", "shown");
  log("error", "also");
  assert.deepEqual(lines, ["2026-11-30T05:00:00.000Z INFO shown", "2026-11-30T05:00:00.000Z ERROR also"]);
});

test("--clients: any, a list of peer IDs, or refused with a usage error", async () => {
  assert.equal((await loadNodeConfig(["--clients", "any"], {})).config.clients, "any");
  assert.deepEqual((await loadNodeConfig(["--clients", PEER], {})).config.clients, [PEER]);
  await assert.rejects(loadNodeConfig(["--clients", "any", "--clients", PEER], {}), UsageError);
  await assert.rejects(loadNodeConfig(["--clients", "not-a-peer"], {}), UsageError);
});

test("security settings: --auth and --http-cert/--http-key/--http-ca from flags, env and file; client variables ignored", async () => {
  const { config } = await loadNodeConfig(["--http-cert", "/c.pem", "--http-key", "/k.pem"], {
    CHISELSTORE_AUTH: "/users.json",
    CHISELSTORE_HTTP_CA: "/ca.pem",
    // The client commands' variables may be set in the same shell: not node settings, not errors.
    CHISELSTORE_USER: "admin",
    CHISELSTORE_PASSWORD: "pw",
    CHISELSTORE_TOKEN: "t",
    CHISELSTORE_CA: "/ca.pem",
  });
  assert.deepEqual(
    [config.httpCert, config.httpKey, config.httpCa, config.auth],
    ["/c.pem", "/k.pem", "/ca.pem", "/users.json"],
  );
  const file = fileLayer("n.toml", 'auth = "/u.json"\nhttp-cert = "/c"\nhttp-key = "/k"\n');
  assert.equal(file.get("auth"), "/u.json");
  await assert.rejects(
    loadNodeConfig(["--http-key", "/k.pem"], {}),
    /--http-cert and --http-key go together/,
  );
  await assert.rejects(loadNodeConfig(["--http-ca", "/ca.pem"], {}), /needs HTTPS/);
  await assert.rejects(loadNodeConfig([], { CHISELSTORE_USERS: "x" }), /CHISELSTORE_USERS: unknown setting/);
});
