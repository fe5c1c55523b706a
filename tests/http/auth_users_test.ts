/**
 * The users file and the credential checks on their own: scrypt hash strings, token hashes, every way a
 * file can be wrong (each refused with a message naming the entry), and the Authenticator's decisions.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Authenticator } from "../../src/server/http/auth.ts";
import { HttpError } from "../../src/server/http/errors.ts";
import {
  hashPassword,
  hashToken,
  newToken,
  parseScrypt,
  parseTokenHash,
  verifyPassword,
} from "../../src/server/http/password.ts";
import { parseUsers, UsersFileError } from "../../src/server/http/users.ts";

/** Cheap parameters: these tests check logic, not cost. */
const FAST = { N: 1024, r: 8, p: 1 };

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

test("scrypt hashes: self-describing, salted, verified only by the right password", async () => {
  const h = await hashPassword("correct horse", FAST);
  assert.match(h, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.notEqual(await hashPassword("correct horse", FAST), h, "a fresh salt each time");
  const parsed = parseScrypt(h);
  assert.equal(parsed.N, 1024);
  assert.equal(await verifyPassword("correct horse", parsed), true);
  assert.equal(await verifyPassword("correct hors", parsed), false);
  assert.equal(await verifyPassword("", parsed), false);
  await assert.rejects(hashPassword("", FAST), /empty/);
  await assert.rejects(hashPassword("x", { N: 1000, r: 8, p: 1 }), /power of two/);
  for (
    const [bad, why] of [
      ["plain", /not a scrypt hash/],
      ["scrypt$1024$8$1$c2FsdHNhbHQ=", /not a scrypt hash/],
      ["scrypt$1023$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==", /power of two/],
      ["scrypt$1024$0$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==", /r must be/],
      ["scrypt$1024$8$1$c2Fs$aGFzaGhhc2hoYXNoaGFzaA==", /salt is too short/],
      ["scrypt$1024$8$1$c2FsdHNhbHQ=$!!!", /hash is not base64/],
    ] as const
  ) assert.throws(() => parseScrypt(bad), why, bad);
});

test("token hashes: sha256 of the token, 32 bytes, nothing else accepted", () => {
  const t = newToken();
  assert.match(t, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(newToken(), t);
  const h = hashToken(t);
  assert.match(h, /^sha256\$/);
  assert.equal(parseTokenHash(h).length, 32);
  assert.throws(() => parseTokenHash(t), /not a token hash/);
  assert.throws(() => parseTokenHash("sha256$YWJj"), /too short/);
});

test("users file: every mistake is refused with the entry it is in", async () => {
  const pw = await hashPassword("pw", FAST);
  const tok = hashToken("t");
  const cases: [unknown, RegExp][] = [
    [{}, /expected a JSON array/],
    [["alice"], /entry 0: expected an object/],
    [[{ perms: ["all"] }], /entry 0: "username" is missing/],
    [[{ username: "a:b", password: pw }], /cannot contain ":"/],
    [
      [{ username: "alice", password: "secret", perms: ["all"] }],
      /user "alice": "password" is not a scrypt hash; plaintext passwords are refused/,
    ],
    [[{ username: "alice", password: "scrypt$1$2$3" }], /user "alice": "password": not a scrypt hash/],
    [[{ username: "alice", password: pw, perms: ["write"] }], /user "alice": unknown permission "write"/],
    [[{ username: "alice", password: pw, perms: "all" }], /"perms" must be an array/],
    [[{ username: "alice", password: pw, role: "x" }], /unknown key "role"/],
    [[{ username: "alice", perms: ["all"] }], /needs a "password" or "tokens"/],
    [[{ username: "alice", tokens: ["t"] }], /"tokens": not a token hash/],
    [
      [{ username: "alice", password: pw }, { username: "alice", password: pw }],
      /user "alice": listed twice/,
    ],
    [
      [{ username: "a", tokens: [tok] }, { username: "b", tokens: [tok] }],
      /user "b": a token is listed twice/,
    ],
    [[{ username: "*", password: pw }], /takes no password/],
    [[{ username: "*" }, { username: "*" }], /listed twice/],
  ];
  for (const [file, why] of cases) {
    assert.throws(() => parseUsers(JSON.stringify(file), "users.json"), (e: unknown) => {
      assert.ok(e instanceof UsersFileError, String(e));
      assert.match(e.message, /^users\.json: /);
      assert.match(e.message, why);
      return true;
    });
  }
  assert.throws(() => parseUsers("[{", "u.json"), /u\.json: not JSON/);
  const ok = parseUsers(
    JSON.stringify([
      { username: "alice", password: pw, perms: ["all"] },
      { username: "ci", tokens: [tok], perms: ["execute"] },
      { username: "*", perms: ["ready"] },
    ]),
  );
  assert.deepEqual([...ok.byName.keys()], ["alice", "ci"]);
  assert.deepEqual([...ok.byName.get("alice")!.perms].sort(), [
    "execute",
    "join",
    "query",
    "ready",
    "remove",
    "status",
  ]);
  assert.deepEqual([...ok.everyone], ["ready"]);
});

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    assert.ok(e instanceof HttpError, String(e));
    if (e.status === 401) assert.match(e.headers["WWW-Authenticate"], /^Basic realm="chiselstore"/);
    return e.status;
  }
}

test("Authenticator: Basic and Bearer, anonymous gets '*', 401 for bad credentials, 403 for missing perms", async () => {
  const token = newToken();
  const users = parseUsers(JSON.stringify([
    { username: "alice", password: await hashPassword("alice-pw", FAST), perms: ["query"] },
    { username: "bot", tokens: [hashToken(token)], perms: ["execute"] },
    { username: "*", perms: ["ready"] },
  ]));
  const auth = new Authenticator(users);
  const alice = await auth.authenticate(basic("alice", "alice-pw"));
  assert.equal(alice.name, "alice");
  assert.deepEqual([...alice.perms].sort(), ["query", "ready"], "a user also holds the '*' perms");
  const bot = await auth.authenticate(`Bearer ${token}`);
  assert.equal(bot.name, "bot");
  const anon = await auth.authenticate(undefined);
  assert.equal(anon.name, undefined);
  assert.deepEqual([...anon.perms], ["ready"]);

  for (
    const header of [
      basic("alice", "wrong"),
      basic("mallory", "alice-pw"),
      basic("bot", ""),
      `Bearer ${token}x`,
      "Basic !!!",
      "Basic " + Buffer.from("no colon").toString("base64"),
      "Digest x=1",
      "garbage",
    ]
  ) assert.equal(await statusOf(auth.authenticate(header)), 401, header);

  assert.equal(await statusOf(Promise.resolve(auth.authorize(alice, ["query"]))), 200);
  assert.equal(await statusOf(Promise.resolve().then(() => auth.authorize(alice, ["execute"]))), 403);
  assert.equal(await statusOf(Promise.resolve().then(() => auth.authorize(anon, ["status"]))), 401);
  assert.equal(await statusOf(Promise.resolve().then(() => auth.authorize(anon, ["ready"]))), 200);
});

test("Authenticator cache: a verified password is remembered for cacheMs, a wrong one never", async () => {
  let now = 0;
  const users = parseUsers(JSON.stringify([
    { username: "alice", password: await hashPassword("pw", FAST), perms: ["query"] },
  ]));
  const auth = new Authenticator(users, { cacheMs: 1000, now: () => now });
  assert.equal((await auth.authenticate(basic("alice", "pw"))).name, "alice");
  assert.equal(auth.passwordChecks, 1);
  now = 999;
  assert.equal((await auth.authenticate(basic("alice", "pw"))).name, "alice");
  assert.equal(auth.passwordChecks, 1, "answered from the cache");
  assert.equal(await statusOf(auth.authenticate(basic("alice", "pX"))), 401);
  assert.equal(await statusOf(auth.authenticate(basic("alice", "pX"))), 401);
  assert.equal(auth.passwordChecks, 3, "failures are checked every time");
  // An unknown name costs a scrypt too (against a dummy hash): its timing does not reveal that it is unknown.
  assert.equal(await statusOf(auth.authenticate(basic("nobody", "pw"))), 401);
  assert.equal(auth.passwordChecks, 4);
  now = 1000;
  assert.equal((await auth.authenticate(basic("alice", "pw"))).name, "alice");
  assert.equal(auth.passwordChecks, 5, "checked again once the period is over");
  // Many checks at once are queued behind the limit and all answered.
  const many = await Promise.all(
    Array.from(
      { length: 8 },
      (_, i) => statusOf(auth.authenticate(basic("alice", i % 2 ? "pw" : `bad${i}`))),
    ),
  );
  assert.deepEqual(many, [401, 200, 401, 200, 401, 200, 401, 200]);
});
