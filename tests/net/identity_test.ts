import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IdentityError, KEY_FILE, loadOrCreateIdentity } from "../../src/net/identity.ts";
import { main } from "../../src/cli/main.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "chisel-id-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l) } };
}

test("identity: created once with mode 0600, then loaded with the same peer ID", async () => {
  await withDir(async (dir) => {
    const data = join(dir, "nested", "data");
    const a = await loadOrCreateIdentity(data);
    assert.equal(a.created, true);
    assert.match(a.peerId, /^12D3KooW/);
    assert.equal((await stat(join(data, KEY_FILE))).mode & 0o777, 0o600);
    assert.equal((await readFile(join(data, KEY_FILE))).byteLength, 68);
    const b = await loadOrCreateIdentity(data);
    assert.equal(b.created, false);
    assert.equal(b.peerId, a.peerId);
  });
});

test("identity: a key readable by others is tightened; a corrupt key is an IdentityError", async () => {
  await withDir(async (dir) => {
    const { keyPath } = await loadOrCreateIdentity(dir);
    await chmod(keyPath, 0o644);
    await loadOrCreateIdentity(dir);
    assert.equal((await stat(keyPath)).mode & 0o777, 0o600);
    await writeFile(keyPath, new Uint8Array([1, 2, 3]));
    await assert.rejects(loadOrCreateIdentity(dir), IdentityError);
  });
});

test("cli: `id --data` prints the peer ID and listen multiaddrs", async () => {
  await withDir(async (dir) => {
    const c = captureIo();
    const relay = "/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp";
    const code = await main(
      [
        "id",
        "--data",
        dir,
        "--listen",
        "/ip4/127.0.0.1/tcp/7001",
        "--listen",
        "/ip4/0.0.0.0/tcp/7002",
        "--relay-via",
        relay,
      ],
      c.io,
    );
    assert.equal(code, 0);
    const [peerId, ...addrs] = c.out;
    assert.equal(peerId, (await loadOrCreateIdentity(dir)).peerId);
    assert.deepEqual(addrs, [
      `/ip4/127.0.0.1/tcp/7001/p2p/${peerId}`,
      `/ip4/0.0.0.0/tcp/7002/p2p/${peerId}`,
      `${relay}/p2p-circuit/p2p/${peerId}`,
    ]);
    const again = captureIo();
    assert.equal(await main(["id", "--data", dir], again.io), 0);
    assert.equal(again.out[0], peerId);
    assert.equal(again.out[1], `/ip4/0.0.0.0/tcp/7400/p2p/${peerId}`);
  });
});

test("cli: wrong usage exits 2 with a clear message; --help exits 0", async () => {
  const cases: [string[], RegExp][] = [
    [[], /Usage: chiselstore <command>/],
    [["frobnicate"], /unknown command 'frobnicate'/],
    [["id"], /--data <dir> is required/],
    [["id", "--data"], /--data/],
    [["id", "--data", "/tmp/x", "--bogus"], /Unknown option '--bogus'/],
    [["id", "--data", "/tmp/x", "stray"], /positional/i],
    [["id", "--data", "/tmp/x", "--listen", "not-a-multiaddr"], /--listen: not a multiaddr/],
    [["id", "--data", "/tmp/x", "--relay-via", "/ip4/1.2.3.4/tcp/1"], /--relay-via: .*\/p2p\/<peerId>/],
  ];
  for (const [argv, message] of cases) {
    const c = captureIo();
    assert.equal(await main(argv, c.io), 2, argv.join(" "));
    assert.match(c.err.join("\n"), message);
    assert.deepEqual(c.out, []);
  }
  for (const argv of [["--help"], ["id", "--help"]]) {
    const c = captureIo();
    assert.equal(await main(argv, c.io), 0);
    assert.match(c.out.join("\n"), /Usage: chiselstore/);
  }
});
