/** The command as a child process: usage errors (exit 2), help (exit 0), `id`. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fakeServer, runCli, withTempDir } from "./helpers.ts";

const COMMANDS = ["node", "id", "status", "shell", "join", "remove"];

test("no command: usage on stderr, exit 2; unknown command: one line + usage, exit 2", async () => {
  const none = await runCli([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^Usage: chiselstore <command>/);
  for (const c of COMMANDS) assert.match(none.stderr, new RegExp(`\\n  ${c} +\\S`));
  const bad = await runCli(["frobnicate"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^chiselstore: unknown command 'frobnicate'\n\nUsage:/);
});

test("every subcommand: --help on stdout with exit 0, an unknown flag a one-line error + usage with exit 2", async () => {
  await Promise.all(COMMANDS.map(async (c) => {
    const help = await runCli([c, "--help"]);
    assert.equal(help.code, 0, `${c} --help: ${help.stderr}`);
    assert.match(help.stdout, new RegExp(`^Usage: chiselstore ${c}`));
    const bad = await runCli([c, "--no-such-flag"]);
    assert.equal(bad.code, 2, c);
    const [first, blank, usage] = bad.stderr.split("\n");
    assert.match(first, new RegExp(`^chiselstore ${c}: .*no-such-flag`));
    assert.equal(blank, "");
    assert.match(usage, new RegExp(`^Usage: chiselstore ${c}`));
    assert.equal(bad.stdout, "");
  }));
});

test("node: bad settings exit 2 before anything starts", () =>
  withTempDir(async (dir) => {
    const data = join(dir, "d");
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--peers", "/ip4/127.0.0.1/tcp/7401"], {}, /--peers: peer address must end in \/p2p\/<peerId>/],
      [["--fsync", "sometimes"], {}, /--fsync: expected always \| batch \| never/],
      [["--http", "nope"], {}, /--http: expected host:port/],
      [[], { CHISELSTORE_SNAPSHOT_ENTRIES: "many" }, /CHISELSTORE_SNAPSHOT_ENTRIES: expected an integer/],
      [[], { CHISELSTORE_DATADIR: "x" }, /CHISELSTORE_DATADIR: unknown setting/],
      [["--config", join(dir, "bad.json")], {}, /config file .*bad\.json: key "fsynk": unknown setting/],
    ];
    await writeFile(join(dir, "bad.json"), '{"fsynk": "always"}');
    for (const [args, env, re] of cases) {
      const r = await runCli(["node", "--data", data, "--http", "127.0.0.1:0", ...args], { env });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr.split("\n")[0], re);
    }
  }));

test("id: creates the identity once, prints the peer ID and the listen addresses", () =>
  withTempDir(async (dir) => {
    const first = await runCli(["id", "--data", dir, "--listen", "/ip4/127.0.0.1/tcp/7401"]);
    assert.equal(first.code, 0, first.stderr);
    const [peerId, addr, end] = first.stdout.split("\n");
    assert.match(peerId, /^12D3KooW[1-9A-HJ-NP-Za-km-z]+$/);
    assert.equal(addr, `/ip4/127.0.0.1/tcp/7401/p2p/${peerId}`);
    assert.equal(end, "");
    assert.match(first.stderr, /^created identity /);
    const again = await runCli(["id", "--data", dir]);
    assert.equal(again.code, 0);
    assert.equal(again.stdout, `${peerId}\n/ip4/0.0.0.0/tcp/7400/p2p/${peerId}\n`);
    assert.match(again.stderr, /^loaded identity /);
    const missing = await runCli(["id"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^chiselstore id: --data <dir> is required/);
  }));

test("join/remove: a bad argument is a usage error (exit 2), checked before any request", async () => {
  const url = "http://127.0.0.1:1";
  for (
    const [args, re] of [
      [["join", "/ip4/1.2.3.4/tcp/1", "--url", url], /must end in \/p2p/],
      [["join", "--url", url], /missing <multiaddr>/],
      [["remove", "not-a-peer-id", "--url", url], /not a peer ID: not-a-peer-id/],
      [["remove", "a", "b"], /unexpected argument 'b'/],
      [["status", "http://[bad"], /not a URL/],
    ] as const
  ) {
    const r = await runCli([...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr.split("\n")[0], re);
  }
});

test("status, shell: an unreachable server is a clear one-line error, exit 1", async () => {
  // A port that was just free: nothing listens there.
  const s = await fakeServer(() => ({ body: {} }));
  await s.close();
  const r = await runCli(["status", s.url]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.split("\n").length, 2);
  assert.match(
    r.stderr,
    /^chiselstore status: cannot reach http:\/\/127\.0\.0\.1:\d+\/(status|nodes): connection refused\n$/,
  );
});
