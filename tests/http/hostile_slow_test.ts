/**
 * Slow and idle clients (slowloris): a connection that sends its headers or its body a byte at a time, or
 * nothing at all, is cut off by the server's deadlines (src/server/http/limits.ts) while other clients are
 * served. The deadlines are set small through the options so the tests take seconds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { applyServerLimits } from "../../src/server/http/limits.ts";
import { waitFor } from "../net/wait.ts";
import { raw, withApi } from "./helpers.ts";
import { assertServing, assertUnchanged, openRaw, type RawConn, state, statusOf } from "./hostile.ts";

const HEADERS_MS = 300;
const REQUEST_MS = 700;
const LIMITS = { headersTimeoutMs: HEADERS_MS, requestTimeoutMs: REQUEST_MS };
/** Generous: the machine is shared, but a cut must come long before this. */
const CUT_DEADLINE_MS = 15_000;

/** Writes `text` one byte every `everyMs` until the server closes the connection (or the text runs out). */
function dribble(c: RawConn, text: string, everyMs: number): () => void {
  let i = 0;
  const timer = setInterval(() => {
    if (c.isClosed() || i >= text.length) return clearInterval(timer);
    c.socket.write(text[i++]);
  }, everyMs);
  return () => clearInterval(timer);
}

test("headers sent a byte at a time are cut off with 408 while other clients are served", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    const before = await state(url);
    const started = Date.now();
    const slow = await openRaw(url);
    // Far longer than the deadline at this pace: 200 bytes at 25 ms each is 5 s.
    const stop = dribble(slow, "POST /db/execute HTTP/1.1\r\nHost: x\r\nX-Pad: " + "a".repeat(200), 25);
    try {
      // Others are served while the slow client trickles.
      for (let i = 0; i < 3; i++) await assertServing(url, `read ${i} during the slow headers`);
      await waitFor(() => slow.isClosed(), CUT_DEADLINE_MS, "the slow-headers connection to be cut");
    } finally {
      stop();
    }
    assert.ok(Date.now() - started >= HEADERS_MS - 20, "not cut before its deadline");
    assert.equal(statusOf(slow.received()), 408, slow.received());
    assert.match(slow.received(), /no complete request headers within 300 ms/);
    await assertUnchanged(url, before, "after the slow headers");
  }, LIMITS);
});

test("a body sent a byte at a time is cut off with 408 and nothing of it is applied", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    const before = await state(url);
    const body = JSON.stringify(["INSERT INTO t VALUES (1, 2)"]);
    const slow = await openRaw(url);
    slow.socket.write(
      `POST /db/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    // 29 bytes at 100 ms each: 2.9 s, well past the request deadline.
    const stop = dribble(slow, body, 100);
    try {
      await assertServing(url, "during the slow body");
      await waitFor(() => slow.isClosed(), CUT_DEADLINE_MS, "the slow-body connection to be cut");
    } finally {
      stop();
    }
    assert.equal(statusOf(slow.received()), 408, slow.received());
    assert.match(slow.received(), /request not received within 700 ms/);
    // The handler that was reading the body finished too (it does not wait forever on a dead socket).
    await waitFor(
      async () =>
        /chiselstore_http_requests_total\{endpoint="\/db\/execute",method="POST",code="408"\} 1/.test(
          (await raw(url, "GET", "/metrics")).text,
        ),
      CUT_DEADLINE_MS,
      "the cut request's handler to finish",
    );
    await assertUnchanged(url, before, "after the slow body");
    await assertServing(url, "after the slow body");
  }, LIMITS);
});

test("a client that hangs up mid-body: its request ends, nothing of it is applied", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    const before = await state(url);
    const c = await openRaw(url);
    const head = "POST /db/execute HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
    await new Promise((sent) => c.socket.write(head + '["INSERT INTO t VALUES (1, 2)"', sent));
    c.socket.destroy();
    await waitFor(
      async () =>
        /chiselstore_http_requests_total\{endpoint="\/db\/execute",method="POST",code="400"\} 1/.test(
          (await raw(url, "GET", "/metrics")).text,
        ),
      CUT_DEADLINE_MS,
      "the abandoned request's handler to finish",
    );
    await assertUnchanged(url, before, "after the abandoned body");
  }, LIMITS);
});

test("many idle connections do not block service and are all closed", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    const idle: RawConn[] = [];
    for (let i = 0; i < 200; i++) idle.push(await openRaw(url));
    // One more that stops half-way through its request line.
    const partial = await openRaw(url);
    partial.socket.write("GET /db/qu");
    for (let i = 0; i < 5; i++) await assertServing(url, `read ${i} beside 201 idle connections`);
    const w = await raw(url, "POST", "/db/execute", JSON.stringify(["INSERT INTO t VALUES (1, 2)"]));
    assert.equal(w.status, 200, "a write beside idle connections");
    await waitFor(
      () => idle.every((c) => c.isClosed()) && partial.isClosed(),
      CUT_DEADLINE_MS,
      "every idle connection to be closed",
    );
    assert.deepEqual(idle.filter((c) => c.received() !== ""), [], "silent connections are closed silently");
    assert.equal(statusOf(partial.received()), 408, "a started request is told why");
    await assertServing(url, "after the idle connections");
  }, LIMITS);
});

test("a kept-alive connection is closed once idle; a complete request on it was served", async () => {
  await withApi(async ({ url }) => {
    const c = await openRaw(url);
    c.socket.write("GET /db/query?q=SELECT%207 HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => c.received().includes("[[7]]"), CUT_DEADLINE_MS, "the answer");
    const answered = Date.now();
    const answer = c.received();
    assert.equal(statusOf(answer), 200);
    await waitFor(() => c.isClosed(), CUT_DEADLINE_MS, "the idle kept-alive connection to be closed");
    // Node's own keepAliveTimeout (5 s) would close it too, but later: this is the 300 ms idle deadline.
    assert.ok(Date.now() - answered < 4_000, `closed ${Date.now() - answered} ms after the answer`);
    assert.equal(c.received(), answer, "nothing unsolicited after the answer");
  }, LIMITS);
});

test("limits must be positive numbers", () => {
  for (const bad of [0, -1, Number.NaN, Infinity]) {
    assert.throws(
      () => applyServerLimits(createServer(), { headersTimeoutMs: bad }),
      /headersTimeoutMs must be a positive number of ms/,
    );
    assert.throws(
      () => applyServerLimits(createServer(), { requestTimeoutMs: bad }),
      /requestTimeoutMs must be a positive number of ms/,
    );
  }
});
