/**
 * Only members speak paxos: a non-member is refused at the connection (gater) and at the protocol (an
 * admitted relay that is not a member), refusals are logged once, members removed at runtime are cut off,
 * and a member sending garbage or oversized frames is disconnected while the cluster carries on.
 */
import { rawNode } from "./raw_node.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { PAXOS_PROTOCOL, PaxosTransport, silentLogger } from "../../src/net/mod.ts";
import { encodeFrames } from "../../src/net/framing.ts";
import { agreedLeader, collectingLogger, newKeys, type PaxosHost, startCluster, stopAll } from "./cluster.ts";
import { replicate } from "./replicate.ts";
import { waitFor } from "./wait.ts";

const addrOf = (h: PaxosHost) => multiaddr(h.transport.getMultiaddrs()[0]);

test(
  "a non-member is refused by the gater, logged once, and the cluster carries on",
  { timeout: 30_000 },
  async () => {
    const { log, lines } = collectingLogger();
    const hosts = await startCluster(3, { log });
    const [outsiderKey] = await newKeys(1);
    const outsiderId = peerIdFromPrivateKey(outsiderKey).toString();
    // The outsider believes it is a member and knows everyone's address; nobody lists it.
    const outsider = new PaxosTransport({
      privateKey: outsiderKey,
      members: [...hosts.map((h) => h.id), outsiderId],
      listen: ["/ip4/127.0.0.1/tcp/0"],
      peers: hosts.flatMap((h) => h.transport.getMultiaddrs()),
      backoff: { initialMs: 20, maxMs: 100 },
      natServices: false,
      log: silentLogger,
    });
    await outsider.start();
    try {
      await waitFor(() => outsider.metrics().dialFailures >= 9, 15_000, "repeated refused dials");
      assert.equal(outsider.metrics().sessions, 0);
      for (const h of hosts) {
        assert.ok(
          !h.transport.libp2p.getConnections().some((c) => c.remotePeer.toString() === outsiderId),
        );
      }
      const refusals = hosts.reduce((n, h) => n + h.transport.metrics().refusedPeers, 0);
      assert.ok(refusals >= 9, `refusals counted (${refusals})`);
      const logged = lines.filter((l) => l.includes(`refused peer ${outsiderId}`));
      assert.ok(
        logged.length >= 1 && logged.length <= hosts.length,
        `logged once per host, got ${logged.length}`,
      );
      await replicate(hosts, 0, 100, 15_000);
    } finally {
      await outsider.stop();
      await stopAll(hosts);
    }
  },
);

test(
  "an admitted non-member (a relay, or allowPeer) cannot open the paxos protocol",
  { timeout: 30_000 },
  async () => {
    const { log, lines } = collectingLogger();
    const hosts = await startCluster(3, { log });
    const [relayKey] = await newKeys(1);
    const relay = await rawNode({ privateKey: relayKey });
    const relayId = relay.peerId.toString();
    try {
      // A circuit address through `relay` admits it as infrastructure on hosts[0].
      const via = `${relay.getMultiaddrs()[0].toString()}/p2p-circuit/p2p/${hosts[1].id}`;
      await hosts[0].transport.addPeerAddress(via);
      const stream = await relay.dialProtocol(addrOf(hosts[0]), PAXOS_PROTOCOL);
      await waitFor(() => stream.status !== "open", 5_000, "the stream to be refused");
      const refusedAtProtocol = () =>
        lines.filter((l) => l.includes(`refused peer ${relayId}: paxos stream`)).length;
      await waitFor(() => refusedAtProtocol() === 1, 5_000, "log line");
      // allowPeer() admits a non-member the same way (e.g. a client of another protocol): still no paxos.
      hosts[1].transport.allowPeer(relayId);
      const again = await relay.dialProtocol(addrOf(hosts[1]), PAXOS_PROTOCOL);
      await waitFor(() => again.status !== "open" && refusedAtProtocol() === 2, 5_000, "the second refusal");
      await replicate(hosts, 0, 100, 15_000);
    } finally {
      await relay.stop();
      await stopAll(hosts);
    }
  },
);

test("a member removed at runtime is cut off; adding it back restores it", { timeout: 30_000 }, async () => {
  const hosts = await startCluster(4);
  try {
    await replicate(hosts, 0, 100, 15_000);
    const [gone, ...rest] = hosts;
    const remaining = rest.map((h) => h.id);
    for (const h of rest) h.transport.setMembers(remaining);
    await waitFor(
      () =>
        rest.every((h) =>
          !h.transport.libp2p.getConnections().some((c) => c.remotePeer.toString() === gone.id)
        ),
      5_000,
      "the removed member to be disconnected",
    );
    await waitFor(() => gone.transport.metrics().dialFailures >= 3, 10_000, "refused redials");
    assert.ok(rest.every((h) => !h.transport.isConnected(gone.id)));
    for (const h of rest) h.transport.setMembers(hosts.map((x) => x.id));
    await waitFor(
      () =>
        rest.every((h) => h.transport.isConnected(gone.id)) &&
        rest.every((h) => gone.transport.isConnected(h.id)),
      15_000,
      "the member to be reconnected",
    );
  } finally {
    await stopAll(hosts);
  }
});

test("a member sending garbage or oversized frames is disconnected; the cluster continues", {
  timeout: 30_000,
}, async () => {
  const { log, lines } = collectingLogger();
  const [badKey] = await newKeys(1);
  const badId = peerIdFromPrivateKey(badKey).toString();
  // 4 members, 3 well-behaved: a quorum without the bad one.
  const hosts = await startCluster(3, { log }, [badId]);
  const bad = await rawNode({ privateKey: badKey });
  try {
    await waitFor(() => agreedLeader(hosts) !== undefined, 10_000, "a leader");
    const frames = [
      encodeFrames([Uint8Array.from([0xff, 0xff, 0xff])]), // not protobuf
      encodeFrames([Uint8Array.from([0x08, 0x01])]), // protobuf, but no message body
      Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x01]), // a length prefix of 256 MiB
    ];
    for (const [i, bytes] of frames.entries()) {
      const target = hosts[i % hosts.length];
      const before = target.transport.metrics().rejectedFrames;
      const stream = await bad.dialProtocol(addrOf(target), PAXOS_PROTOCOL);
      stream.send(bytes);
      await waitFor(
        () => target.transport.metrics().rejectedFrames === before + 1,
        5_000,
        `frame ${i} rejected`,
      );
      await waitFor(
        () => !target.transport.libp2p.getConnections().some((c) => c.remotePeer.toString() === badId),
        5_000,
        "disconnect",
      );
    }
    assert.ok(lines.some((l) => l.includes(`closing paxos stream from ${badId}: malformed frame`)));
    assert.ok(
      lines.some((l) =>
        l.includes(`closing paxos stream from ${badId}: frame carries no known message type`)
      ),
    );
    assert.ok(lines.some((l) => l.includes(`closing paxos stream from ${badId}: Invalid message length`)));
    await replicate(hosts, 0, 500, 15_000);
  } finally {
    await bad.stop();
    await stopAll(hosts);
  }
});
