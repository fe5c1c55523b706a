/** The transport's small parts: backoff, bounded queue, framing, member gate, peer addresses. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { LengthPrefixedDecoder } from "@libp2p/utils";
import { peerIdFromString } from "@libp2p/peer-id";
import { Backoff, MemberGate, parsePeerAddr, PeerQueue, silentLogger } from "../../src/net/mod.ts";
import { encodeFrames } from "../../src/net/framing.ts";

test("backoff grows exponentially up to the cap, jitter only shortens, reset starts over", () => {
  const noJitter = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
  assert.deepEqual(Array.from({ length: 6 }, () => noJitter.next()), [100, 200, 400, 800, 1000, 1000]);
  noJitter.reset();
  assert.equal(noJitter.next(), 100);
  fc.assert(fc.property(fc.double({ min: 0, max: 0.9999, noNaN: true }), fc.nat(20), (r, n) => {
    const b = new Backoff({ initialMs: 50, maxMs: 5000, jitter: 0.5, random: () => r });
    let d = 0;
    for (let i = 0; i <= n; i++) d = b.next();
    const base = Math.min(5000, 50 * 2 ** n);
    assert.ok(d <= base && d >= Math.floor(base / 2), `${d} within [${base / 2}, ${base}]`);
  }));
  assert.throws(() => new Backoff({ initialMs: 0 }), RangeError);
});

test("peer queue: caps frames and bytes, takes FIFO batches", () => {
  const q = new PeerQueue({ maxFrames: 3, maxBytes: 10 });
  assert.ok(q.push(new Uint8Array(4)));
  assert.ok(q.push(new Uint8Array(4)));
  assert.ok(!q.push(new Uint8Array(4)), "byte cap");
  assert.ok(q.push(new Uint8Array(1)));
  assert.ok(!q.push(new Uint8Array(0)), "frame cap");
  assert.deepEqual(q.take(5).map((f) => f.length), [4], "a batch stops before the byte budget");
  assert.deepEqual(q.take(1).map((f) => f.length), [4], "but always takes one frame");
  assert.equal(q.bytes, 1);
  assert.equal(q.clear(), 1);
  assert.equal(q.length, 0);
});

test("framing: batches decode back to the same frames with libp2p's decoder", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 30 }),
      fc.nat(50),
      (frames, split) => {
        const bytes = encodeFrames(frames);
        const decoder = new LengthPrefixedDecoder();
        const cut = Math.min(split, bytes.length);
        const out = [...decoder.decode(bytes.subarray(0, cut)), ...decoder.decode(bytes.subarray(cut))];
        assert.deepStrictEqual(out.map((l) => l.subarray()), frames);
      },
    ),
  );
  const big = new Uint8Array(300_000);
  assert.deepStrictEqual([...new LengthPrefixedDecoder().decode(encodeFrames([big]))][0].subarray(), big);
});

const A = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp";
const B = "12D3KooWQwK5gtFz7eTUA7bHm7WpPKah6j6i2ghc1k1Ww8FdE4TK";
const R = "12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE";

test("member gate: members connect, relays connect but reserve nothing, updates apply at once", () => {
  const gate = new MemberGate([A], silentLogger);
  const g = gate.connectionGater();
  const [a, b, r] = [A, B, R].map((p) => peerIdFromString(p));
  assert.equal(g.denyInboundEncryptedConnection?.(a, undefined as never), false);
  assert.equal(g.denyInboundEncryptedConnection?.(b, undefined as never), true);
  assert.equal(g.denyDialPeer?.(b), true);
  gate.allowInfrastructure(R);
  assert.equal(g.denyDialPeer?.(r), false);
  assert.equal(g.denyInboundRelayReservation?.(r), true, "only members reserve relay slots");
  assert.equal(g.denyInboundRelayReservation?.(a), false);
  assert.equal(g.denyOutboundRelayedConnection?.(a, b), true);
  assert.deepEqual(gate.setMembers([A, B]), []);
  assert.equal(g.denyOutboundRelayedConnection?.(a, b), false);
  assert.deepEqual(gate.setMembers([B]), [A]);
  assert.equal(g.denyDialPeer?.(a), true);
  assert.equal(gate.refusedCount, 5);
});

test("peer addresses: the target is the last /p2p/, a circuit names its relay", () => {
  assert.deepEqual(parsePeerAddr(`/ip4/127.0.0.1/tcp/1/p2p/${A}`), { peer: A });
  assert.deepEqual(parsePeerAddr(`/ip4/127.0.0.1/tcp/1/p2p/${R}/p2p-circuit/p2p/${A}`), {
    peer: A,
    relay: R,
  });
  assert.throws(() => parsePeerAddr("/ip4/127.0.0.1/tcp/1"), TypeError);
  assert.throws(() => parsePeerAddr(`/ip4/127.0.0.1/tcp/1/p2p/${R}/p2p-circuit`), TypeError);
  assert.throws(() => parsePeerAddr("garbage"));
});
