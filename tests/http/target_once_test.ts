/**
 * The request target is parsed once per request: the limits' guard checks it and hands the same URL to the
 * handlers (issue 7: the second `new URL` was a measurable part of the leader's CPU per write).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { raw, withApi } from "./helpers.ts";

test("the server parses each admitted request's target once, and still reads its path and parameters", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a)");
    const Original = globalThis.URL;
    let serverParses = 0;
    // The server resolves targets against http://localhost; the client side of this test never does.
    globalThis.URL = class extends Original {
      constructor(u: string | URL, base?: string | URL) {
        if (base === "http://localhost") serverParses++;
        super(u, base);
      }
    };
    try {
      const w = await raw(
        url,
        "POST",
        "/db/execute/?timings",
        JSON.stringify([["INSERT INTO t VALUES (?)", 1]]),
      );
      assert.equal(w.status, 200, w.text);
      assert.equal(typeof w.json.time, "number", "timings read from the one parse");
      const r = await raw(url, "GET", "/db/query?q=SELECT%20count(*)%20FROM%20t&level=none");
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.results[0].values, [[1]]);
      assert.equal(serverParses, 2, "one parse per request");
    } finally {
      globalThis.URL = Original;
    }
  });
});
