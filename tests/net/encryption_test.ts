/**
 * Peer links are always encrypted: over a raw TCP connection to a node's libp2p listener, multistream-select
 * negotiation of the connection encrypter refuses plaintext ("na") and accepts only Noise. So no peer can
 * get an unencrypted, unauthenticated connection (the gater then admits only members: gating_test.ts).
 */
import { rawNode } from "./raw_node.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connect, type Socket } from "node:net";
import type { Libp2p } from "@libp2p/interface";
import { newKeys } from "./cluster.ts";
import { waitFor } from "./wait.ts";

/** One multistream-select message: varint length, then the text and "\n". */
function frame(text: string): Buffer {
  const body = Buffer.from(`${text}\n`);
  assert.ok(body.length < 128, "one-byte varint");
  return Buffer.concat([Buffer.from([body.length]), body]);
}

/** Reads the multistream-select messages the listener sends. */
function reader(socket: Socket): { messages: string[] } {
  const out = { messages: [] as string[] };
  let buf = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length > 0 && buf.length >= 1 + buf[0]) {
      out.messages.push(buf.subarray(1, 1 + buf[0]).toString("utf8").replace(/\n$/, ""));
      buf = buf.subarray(1 + buf[0]);
    }
  });
  return out;
}

async function negotiate(port: number, protocol: string): Promise<string[]> {
  const socket = connect(port, "127.0.0.1");
  const r = reader(socket);
  try {
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    socket.write(Buffer.concat([frame("/multistream/1.0.0"), frame(protocol)]));
    await waitFor(() => r.messages.length >= 2 || socket.destroyed, 10_000, `an answer to ${protocol}`);
    return r.messages;
  } finally {
    socket.destroy();
  }
}

test("a node's libp2p listener refuses plaintext and speaks only Noise", { timeout: 30_000 }, async () => {
  const [key] = await newKeys(1);
  const node: Libp2p = await rawNode({ privateKey: key });
  try {
    const port = Number(node.getMultiaddrs()[0].toString().match(/\/tcp\/(\d+)/)![1]);
    for (const plain of ["/plaintext/2.0.0", "/plaintext/1.0.0", "/tls/1.0.0"]) {
      assert.deepEqual(await negotiate(port, plain), ["/multistream/1.0.0", "na"], plain);
    }
    // The positive control: the same exchange with Noise is accepted (echoed).
    assert.deepEqual(await negotiate(port, "/noise"), ["/multistream/1.0.0", "/noise"]);
  } finally {
    await node.stop();
  }
});
