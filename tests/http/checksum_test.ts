/** GET /db/checksum: the store's checksum over HTTP; it moves with every applied write. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Checksum } from "../../src/server/http/checksum.ts";
import { raw, withApi } from "./helpers.ts";

test("/db/checksum: the applied index and the database's SHA-256, the node's own checksum()", async () => {
  await withApi(async ({ url, node, client }) => {
    const checksum = async () => (await raw(url, "GET", "/db/checksum")).json as Checksum;
    const before = await checksum();
    assert.match(before.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(before, await node.checksum());

    const w = await client.execute("CREATE TABLE c(x)");
    const after = await checksum();
    assert.equal(after.index, w.index + 1, "entries [0, index) are applied; the write sits at w.index");
    assert.notEqual(after.sha256, before.sha256);
    assert.deepEqual(after, await node.checksum());

    const r = await raw(url, "GET", "/db/checksum");
    assert.deepEqual(Object.keys(r.json), ["index", "sha256"]);
    assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal((await raw(url, "POST", "/db/checksum", "[]")).status, 405);
  });
});
