/**
 * NAT traversal on loopback: relay R, members A and B with TCP listen addresses, and C with NO listen
 * address, reachable only through its reservation on R. The cluster elects, decides well past the default
 * relay data limit (128 KiB), and keeps deciding with B down, which needs C's votes through R.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { PaxosTransport, silentLogger } from "../../src/net/mod.ts";
import { agreedLeader, newKeys, PaxosHost, stopAll } from "./cluster.ts";
import { assertSameDecidedLog, replicate } from "./replicate.ts";
import { waitFor } from "./wait.ts";

test(
  "a member without a listen address takes part through a circuit relay",
  { timeout: 60_000 },
  async () => {
    const [rKey, aKey, bKey, cKey] = await newKeys(4);
    const [a, b, c] = [aKey, bKey, cKey].map((k) => peerIdFromPrivateKey(k).toString());
    const members = [a, b, c];
    // The relay serves the members but is not one: it opens no paxos sessions.
    const relay = new PaxosTransport({
      privateKey: rKey,
      members,
      listen: ["/ip4/127.0.0.1/tcp/0"],
      relay: true,
      log: silentLogger,
    });
    await relay.start();
    const hosts: PaxosHost[] = [];
    try {
      const relayAddr = relay.getMultiaddrs()[0];
      const hostC = new PaxosHost({ key: cKey, members, listen: [], relayVia: relayAddr });
      hosts.push(hostC);
      await hostC.start();
      const circuit = hostC.transport.getMultiaddrs().find((m) => m.includes("/p2p-circuit"));
      assert.ok(circuit, "C announces its /p2p-circuit address");
      assert.ok(
        hostC.transport.getMultiaddrs().every((m) => m.includes("/p2p-circuit")),
        "C listens on nothing else",
      );
      // A and B know each other directly and C only through R; C is told nothing (it cannot be dialled, and
      // must not need to dial out either).
      const hostA = new PaxosHost({ key: aKey, members, peers: [circuit] });
      const hostB = new PaxosHost({ key: bKey, members, peers: [circuit] });
      hosts.push(hostA, hostB);
      await Promise.all([hostA.start(), hostB.start()]);
      for (const [x, y] of [[hostA, hostB], [hostB, hostA]]) {
        for (const addr of y.transport.getMultiaddrs()) await x.transport.addPeerAddress(addr);
      }

      await waitFor(() => agreedLeader(hosts) !== undefined, 15_000, "a leader");
      // ~25k entries: well over the 128 KiB a default relay reservation would allow per connection.
      await replicate(hosts, 0, 25_000, 40_000);
      assertSameDecidedLog(hosts, 25_000);
      const conns = hostC.transport.libp2p.getConnections();
      assert.ok(conns.length > 0);
      for (const conn of conns.filter((x) => x.remotePeer.toString() !== relay.peerId)) {
        assert.ok(
          conn.remoteAddr.toString().includes("/p2p-circuit"),
          `C's link to ${conn.remotePeer} is relayed`,
        );
      }
      // C leads (sends the entries) or follows (receives them): either way its relayed links carried it.
      const { bytesSent, bytesReceived } = hostC.transport.metrics();
      assert.ok(
        bytesSent + bytesReceived > 192 * 1024,
        "more than the default 128 KiB relay limit went through",
      );

      // Without B, every decision needs C's accept, relayed by R.
      await hostB.stop();
      await replicate(hosts, 25_000, 25_500, 20_000);
      assertSameDecidedLog(hosts, 25_500);
      assert.equal(relay.metrics().sessions, 0, "the relay opened no paxos sessions");
    } finally {
      await stopAll(hosts);
      await relay.stop();
    }
  },
);
