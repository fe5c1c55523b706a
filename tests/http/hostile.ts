/** Shared by the hostile-input tests: the "nothing changed" check, and raw socket requests. */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { raw } from "./helpers.ts";

export interface State {
  /** GET /db/checksum: the applied log index and the database digest. */
  index: number;
  sha256: string;
  /** Rows of table t. */
  rows: number;
}

/** The node's state as seen over HTTP (the node must have a table t). */
export async function state(url: string): Promise<State> {
  const sum = await raw(url, "GET", "/db/checksum");
  assert.equal(sum.status, 200, sum.text);
  const count = await raw(
    url,
    "GET",
    "/db/query?level=none&q=" + encodeURIComponent("SELECT count(*) FROM t"),
  );
  assert.equal(count.status, 200, count.text);
  return { index: sum.json.index, sha256: sum.json.sha256, rows: count.json.results[0].values[0][0] };
}

/** The schema and every row of t: what a write would change, unlike the applied index. */
export async function content(url: string): Promise<unknown> {
  const r = await raw(
    url,
    "POST",
    "/db/query?level=none",
    JSON.stringify([
      "SELECT type, name, sql FROM sqlite_master ORDER BY name",
      "SELECT rowid, * FROM t ORDER BY rowid",
    ]),
  );
  assert.equal(r.status, 200, r.text);
  return r.json.results;
}

/**
 * Nothing was proposed or applied since `before` (same log index, same database digest, same rows).
 */
export async function assertUnchanged(url: string, before: State, what: string): Promise<void> {
  assert.deepEqual(await state(url), before, `${what}: the node's state changed`);
}

/** The node still answers a read (used after attacks on the connection level). */
export async function assertServing(url: string, what: string): Promise<void> {
  const r = await raw(url, "GET", "/db/query?q=" + encodeURIComponent("SELECT 42"));
  assert.equal(r.status, 200, `${what}: ${r.text}`);
  assert.deepEqual(r.json.results[0].values, [[42]], what);
}

export function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/** A raw TCP connection to the API, recording what the server sends and when it closes. */
export interface RawConn {
  socket: Socket;
  received(): string;
  closed: Promise<void>;
  isClosed(): boolean;
}

export function openRaw(url: string): Promise<RawConn> {
  const { host, port } = hostPort(url);
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let text = "";
    let closed = false;
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (text += d));
    socket.on("error", () => {}); // a reset after the server cuts us off is expected
    const closedP = new Promise<void>((r) => socket.once("close", () => ((closed = true), r())));
    socket.once(
      "connect",
      () => resolve({ socket, received: () => text, closed: closedP, isClosed: () => closed }),
    );
    socket.once("error", reject);
  });
}

/** One request over a raw socket (its bytes exactly as given); resolves with everything until close. */
export async function rawExchange(url: string, bytes: string | Uint8Array): Promise<string> {
  const c = await openRaw(url);
  c.socket.end(bytes);
  await c.closed;
  return c.received();
}

/** The status code of the first response in raw HTTP text. */
export function statusOf(text: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return m ? Number(m[1]) : 0;
}
