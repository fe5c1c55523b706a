/** Members started with different --peers lists are detected and reported (log + status), not silently run. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrCreateIdentity } from "../../src/net/identity.ts";
import { ChiselStore } from "../../src/server/node.ts";
import { waitFor } from "../net/wait.ts";
import { freePort } from "./cluster.ts";

test("a member set mismatch between nodes is logged as an error and shown in status", async () => {
  const root = await mkdtemp(join(tmpdir(), "chisel-mismatch-"));
  const nodes: ChiselStore[] = [];
  const errors: string[] = [];
  try {
    const ids = [];
    for (const name of ["a", "b", "c"]) {
      const dir = join(root, name);
      const { peerId } = await loadOrCreateIdentity(dir);
      const listen = `/ip4/127.0.0.1/tcp/${await freePort()}`;
      ids.push({ dir, peerId, listen, addr: `${listen}/p2p/${peerId}` });
    }
    const [a, b, c] = ids;
    // a lists b and c; b lists only a: they disagree on the member set.
    const plan = [{ me: a, peers: [b, c] }, { me: b, peers: [a] }];
    for (const { me, peers } of plan) {
      nodes.push(
        await ChiselStore.start({
          dataDir: me.dir,
          listen: [me.listen],
          peers: peers.map((p) => p.addr),
          fsync: "never",
          log: (level, msg) => {
            if (level === "error") errors.push(`${me.peerId}: ${msg}`);
          },
        }),
      );
    }
    await waitFor(
      () => nodes.every((n) => n.status().configMismatches.length === 1),
      15_000,
      "both nodes to report the mismatch",
    );
    const [sa, sb] = nodes.map((n) => n.status().configMismatches[0]);
    assert.equal(sa.peerId, b.peerId);
    assert.deepEqual(sa.members, [a.peerId, b.peerId].sort());
    assert.equal(sb.peerId, a.peerId);
    assert.deepEqual(sb.members, [a.peerId, b.peerId, c.peerId].sort());
    assert.ok(errors.some((e) => /member set mismatch/.test(e) && /--peers/.test(e)), errors.join("\n"));
  } finally {
    for (const n of nodes) await n.stop();
    await rm(root, { recursive: true, force: true });
  }
});
