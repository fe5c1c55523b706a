/**
 * HTTPS: the API served with a CA-signed certificate made by openssl at test time; HttpClient trusts it
 * through `ca` (on Node and on Deno), refuses it without, and plain HTTP gets no answer. With `clientCa`
 * the server requires a client certificate from that CA. Bad files stop the server from starting.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { HttpClient, HttpClientError } from "../../src/client/http_client.ts";
import { startHttpApi } from "../../src/server/http/mod.ts";
import { hashPassword } from "../../src/server/http/password.ts";
import { type HttpTlsOptions, loadTls } from "../../src/server/http/tls.ts";
import { parseUsers } from "../../src/server/http/users.ts";
import { ChiselStore } from "../../src/server/node.ts";
import { withApi } from "./helpers.ts";
import { type Certs, makeCerts, NO_OPENSSL } from "./tls_certs.ts";

let certs: Certs;
before(() => {
  if (!NO_OPENSSL) certs = makeCerts();
});
after(() => certs?.remove());

const serverTls = (): HttpTlsOptions => ({
  cert: certs.read(certs.serverCert),
  key: certs.read(certs.serverKey),
});

async function refused(p: Promise<unknown>, why: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof HttpClientError, String(e));
    assert.equal(e.status, 0, "no HTTP answer at all");
    assert.match(e.message, why);
    return true;
  });
}

test("HTTPS: a client trusting the CA reads and writes; one that does not is refused; no plain HTTP", {
  skip: NO_OPENSSL,
}, async () => {
  await withApi(async (api) => {
    assert.match(api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const db = new HttpClient(api.url, { ca: certs.read(certs.caCert) });
    await db.execute("CREATE TABLE t(x INTEGER)");
    await db.execute("INSERT INTO t VALUES (?)", [7]);
    assert.deepEqual((await db.query("SELECT x FROM t"))[0].values, [[7]]);
    assert.equal((await db.status() as { http: { url: string } }).http.url, api.url);
    // The system's CAs do not include the test CA; a CA that did not sign the certificate does not help.
    await refused(new HttpClient(api.url).query("SELECT 1"), /certificate|cannot reach/);
    await refused(
      new HttpClient(api.url, { ca: certs.read(certs.otherCert) }).query("SELECT 1"),
      /certificate/,
    );
    await refused(new HttpClient(api.url.replace("https:", "http:")).query("SELECT 1"), /cannot reach/);
    assert.deepEqual((await db.query("SELECT count(*) FROM t"))[0].values, [[1]]);
  }, { tls: serverTls() });
});

test("HTTPS with a users file: credentials travel encrypted and are still required", {
  skip: NO_OPENSSL,
}, async () => {
  const users = parseUsers(JSON.stringify([
    { username: "admin", password: await hashPassword("pw", { N: 1024, r: 8, p: 1 }), perms: ["all"] },
  ]));
  await withApi(async (api) => {
    const ca = certs.read(certs.caCert);
    const db = new HttpClient(api.url, { ca, auth: { username: "admin", password: "pw" } });
    await db.execute("CREATE TABLE t(x INTEGER)");
    await assert.rejects(
      new HttpClient(api.url, { ca }).execute("INSERT INTO t VALUES (1)"),
      (e: unknown) => (e as HttpClientError).status === 401,
    );
    assert.deepEqual((await db.query("SELECT count(*) FROM t"))[0].values, [[0]]);
  }, { tls: serverTls(), users });
});

test("mutual TLS: with clientCa the server only talks to clients holding a certificate from that CA", {
  skip: NO_OPENSSL,
}, async () => {
  await withApi(async (api) => {
    const ca = certs.read(certs.caCert);
    const db = new HttpClient(api.url, {
      ca,
      cert: certs.read(certs.clientCert),
      key: certs.read(certs.clientKey),
    });
    assert.deepEqual((await db.query("SELECT 1"))[0].values, [[1]]);
    await refused(new HttpClient(api.url, { ca }).query("SELECT 1"), /cannot reach/);
    await refused(
      new HttpClient(api.url, { ca, cert: certs.read(certs.otherCert), key: certs.read(certs.otherKey) })
        .query("SELECT 1"),
      /cannot reach/,
    );
  }, { tls: { ...serverTls(), clientCa: certs.read(certs.caCert) } });
});

test(
  "bad TLS files are refused at start with a message naming the problem",
  { skip: NO_OPENSSL },
  async () => {
    await assert.rejects(
      loadTls({ cert: certs.serverCert, key: `${certs.dir}/missing.key` }),
      /TLS key .*missing\.key/,
    );
    await assert.rejects(loadTls({ cert: certs.serverCert, key: certs.otherKey }), /key does not belong/);
    await assert.rejects(loadTls({ cert: certs.serverKey, key: certs.serverKey }), /not a PEM certificate/);
    await assert.rejects(loadTls({ cert: certs.serverCert, key: certs.serverCert }), /not a PEM private key/);
    await assert.rejects(
      loadTls({ cert: certs.serverCert, key: certs.serverKey, clientCa: certs.serverKey }),
      /client CA is not/,
    );
    const ok = await loadTls({ cert: certs.serverCert, key: certs.serverKey, clientCa: certs.caCert });
    assert.match(String(ok.clientCa), /BEGIN CERTIFICATE/);
    const node = await ChiselStore.start({ memory: true });
    try {
      await assert.rejects(
        startHttpApi(node, {
          port: 0,
          tls: { cert: certs.read(certs.serverCert), key: certs.read(certs.otherKey) },
        }),
        /key does not belong/,
      );
    } finally {
      await node.stop();
    }
  },
);
