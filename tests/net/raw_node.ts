/** A started libp2p node with no gating, no NAT services and no ChiselStore protocols: the test decides what it sends. */
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Libp2p, PrivateKey } from "@libp2p/interface";
import { createLibp2pNode } from "../../src/net/libp2p_node.ts";

export async function rawNode(
  o: { privateKey?: PrivateKey; listen?: string[] } = {},
): Promise<Libp2p> {
  const node = await createLibp2pNode({
    privateKey: o.privateKey ?? await generateKeyPair("Ed25519"),
    listen: o.listen ?? ["/ip4/127.0.0.1/tcp/0"],
    connectionGater: {},
    natServices: false,
  });
  await node.start();
  return node;
}
