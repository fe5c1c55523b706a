/**
 * The CLI's security flags with real processes: `hash-password` output works in a users file, `node`
 * refuses bad --auth/TLS settings before touching its data directory, and a node started with HTTPS and a
 * users file is usable by status/shell/remove only with the CA and the right credentials — refused
 * commands change nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hashToken, parseScrypt, verifyPassword } from "../../src/server/http/password.ts";
import { makeCerts, NO_OPENSSL } from "../http/tls_certs.ts";
import { runCli, type Running, startCli, stopCli, waitForOutput, withTempDir } from "./helpers.ts";

test("hash-password: a scrypt hash of the piped password; --new-token: a token and its hash", async () => {
  const r = await runCli(["hash-password", "--scrypt-n", "1024"], { input: "s3cret pass\n" });
  assert.equal(r.code, 0, r.stderr);
  const hash = r.stdout.trim();
  assert.match(hash, /^scrypt\$1024\$8\$1\$/);
  assert.equal(await verifyPassword("s3cret pass", parseScrypt(hash)), true);
  assert.equal(await verifyPassword("s3cret pass\n", parseScrypt(hash)), false);
  const t = await runCli(["hash-password", "--new-token"]);
  assert.equal(t.code, 0, t.stderr);
  const [token, tokenHash] = t.stdout.trim().split("\n");
  assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(tokenHash, hashToken(token));
  const empty = await runCli(["hash-password"], { input: "" });
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /no password/);
  const bad = await runCli(["hash-password", "--scrypt-n", "1000"], { input: "x\n" });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--scrypt-n: expected a power of two/);
});

test("node: a bad users file or TLS setting is a usage error and nothing starts", async () => {
  await withTempDir(async (dir) => {
    const data = join(dir, "data");
    const plain = join(dir, "plain.json");
    await writeFile(plain, JSON.stringify([{ username: "admin", password: "hunter2", perms: ["all"] }]));
    const cases: [string[], RegExp][] = [
      [["--auth", plain], /user "admin": "password" is not a scrypt hash; plaintext passwords are refused/],
      [["--auth", join(dir, "missing.json")], /users file .*missing\.json/],
      [["--http-cert", join(dir, "c.pem")], /--http-cert and --http-key go together/],
      [["--http-ca", join(dir, "ca.pem")], /--http-ca .* needs HTTPS/],
      [["--http-cert", join(dir, "c.pem"), "--http-key", join(dir, "k.pem")], /TLS certificate .*c\.pem/],
    ];
    for (const [flags, why] of cases) {
      const r = await runCli(["node", "--data", data, "--http", "127.0.0.1:0", ...flags]);
      assert.equal(r.code, 2, `${flags.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.ok(!existsSync(data), "the data directory was not even created");
    }
  });
});

test("node: an HTTP API bound beyond loopback without --auth or TLS is logged as a warning", async () => {
  await withTempDir(async (dir) => {
    const node = startCli(["node", "--data", join(dir, "data"), "--http", "0.0.0.0:0"]);
    try {
      await waitForOutput(node, /HTTP API +http:\/\/\S+\n/);
      assert.match(node.stderr(), /WARN HTTP API on 0\.0\.0\.0 without --auth: anyone who can reach it/);
      assert.match(node.stderr(), /WARN HTTP API on 0\.0\.0\.0 without TLS/);
    } finally {
      assert.equal(await stopCli(node), 0);
    }
  });
});

test("a node with HTTPS and a users file: status/shell/remove need the CA and credentials", {
  skip: NO_OPENSSL,
  timeout: 120_000,
}, async () => {
  const certs = makeCerts();
  let node: Running | undefined;
  try {
    await withTempDir(async (dir) => {
      const hash = async (pw: string) => {
        const r = await runCli(["hash-password", "--scrypt-n", "1024"], { input: `${pw}\n` });
        assert.equal(r.code, 0, r.stderr);
        return r.stdout.trim();
      };
      const users = join(dir, "users.json");
      await writeFile(
        users,
        JSON.stringify([
          { username: "admin", password: await hash("admin-pw"), perms: ["all"] },
          { username: "reader", password: await hash("reader-pw"), perms: ["query", "status"] },
          { username: "*", perms: ["ready"] },
        ]),
      );
      node = startCli([
        "node",
        "--data",
        join(dir, "data"),
        "--http",
        "127.0.0.1:0",
        "--http-cert",
        certs.serverCert,
        "--http-key",
        certs.serverKey,
        "--auth",
        users,
      ], { env: { CHISELSTORE_USER: "ignored-by-node" } });
      const [, url] = await waitForOutput(node, /HTTP API +(https:\/\/\S+)\n/);
      const [, peerId] = await waitForOutput(node, /peer ID +(\S+)\n/);
      assert.doesNotMatch(node.stderr(), /WARN HTTP API/, "loopback: no warning");
      const ca = ["--ca", certs.caCert];
      const admin = { CHISELSTORE_USER: "admin", CHISELSTORE_PASSWORD: "admin-pw" };

      const noCa = await runCli(["status", url], { env: admin });
      assert.equal(noCa.code, 1);
      assert.match(noCa.stderr, /cannot reach .*certificate/i);
      const anon = await runCli(["status", url, ...ca]);
      assert.equal(anon.code, 1);
      assert.match(anon.stderr, /HTTP 401: .*give credentials/);
      const wrong = await runCli(["status", url, ...ca, "--user", "admin:nope"]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /HTTP 401/);
      const ok = await runCli(["status", url, ...ca], { env: admin });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, new RegExp(`node +${peerId}`));

      const sql = "CREATE TABLE t(x INTEGER);\nINSERT INTO t VALUES (1);\n";
      const created = await runCli(["shell", url, ...ca, "--user", "admin:admin-pw"], { input: sql });
      assert.equal(created.code, 0, created.stdout + created.stderr);
      const denied = await runCli(["shell", url, ...ca, "--user", "reader"], {
        input: "INSERT INTO t VALUES (2);\n",
        env: { CHISELSTORE_PASSWORD: "reader-pw" },
      });
      assert.equal(denied.code, 1);
      assert.match(denied.stdout + denied.stderr, /lacks permission execute/);
      const removal = await runCli(["remove", peerId, "--url", url, ...ca, "--user", "reader:reader-pw"]);
      assert.equal(removal.code, 1);
      assert.match(removal.stderr, /HTTP 403: user reader lacks permission remove/);
      const count = await runCli(["shell", url, ...ca, "--user", "reader:reader-pw"], {
        input: "SELECT count(*) AS n FROM t;\n.nodes\n",
      });
      assert.equal(count.code, 0, count.stderr);
      assert.match(count.stdout, /\|\s+1 \|/, "the refused INSERT changed nothing");
      assert.match(count.stdout, new RegExp(peerId), "and the refused remove neither");
      const noPassword = await runCli(["status", url, ...ca, "--user", "reader"]);
      assert.equal(noPassword.code, 2);
      assert.match(noPassword.stderr, /no password/);
    });
  } finally {
    if (node) await stopCli(node);
    certs.remove();
  }
});
