/**
 * What the gouged/gouge demo derives from a node id: loopback ports and a DEV-ONLY libp2p identity.
 * Node N listens for libp2p on 127.0.0.1:(50000+N) (the original gouged's address) and serves its HTTP
 * API on 127.0.0.1:(41000+N). GOUGED_PORT_OFFSET=K (environment, same value for every gouged and gouge of
 * one demo) adds K to both, to run two demos side by side or tests next to a demo.
 *
 * INSECURE: the identity's private key is a function of the id, public for anyone who reads this file.
 * It exists so a demo needs no key exchange; never use it for anything else.
 */
import { generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { PrivateKey } from "@libp2p/interface";
import process from "node:process";

export const P2P_BASE_PORT = 50000;
export const HTTP_BASE_PORT = 41000;
/** Largest demo id: keeps both port ranges (plus the offset) apart and within 65535. */
export const MAX_DEMO_ID = 999;
/** Demo members when no --members is given: the original demos' three nodes. */
export const DEFAULT_MEMBERS = 3;

/** GOUGED_PORT_OFFSET, read once per call so tests can set it per child process. */
export function portOffset(): number {
  const raw = process.env.GOUGED_PORT_OFFSET ?? "0";
  const k = Number(raw);
  if (!Number.isInteger(k) || k < 0 || k > 5000) {
    throw new RangeError(`GOUGED_PORT_OFFSET must be an integer from 0 to 5000, got "${raw}"`);
  }
  return k;
}

export function checkId(id: number): number {
  if (!Number.isInteger(id) || id < 1 || id > MAX_DEMO_ID) {
    throw new RangeError(`node ids are integers from 1 to ${MAX_DEMO_ID}, got ${id}`);
  }
  return id;
}

export function p2pPort(id: number): number {
  return P2P_BASE_PORT + portOffset() + checkId(id);
}

export function httpPort(id: number): number {
  return HTTP_BASE_PORT + portOffset() + checkId(id);
}

export function httpUrl(id: number): string {
  return `http://127.0.0.1:${httpPort(id)}`;
}

/** 32 bytes: an ASCII label, then the id as a big-endian uint32. */
export function devSeed(id: number): Uint8Array {
  const seed = new Uint8Array(32);
  seed.set(new TextEncoder().encode("chiselstore-dev-identity"));
  new DataView(seed.buffer).setUint32(28, checkId(id));
  return seed;
}

/** The DEV-ONLY Ed25519 key of demo node `id` (same id, same key, on every machine). */
export async function devIdentity(id: number): Promise<{ privateKey: PrivateKey; peerId: string }> {
  const privateKey = await generateKeyPairFromSeed("Ed25519", devSeed(id));
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() };
}

/** Node `id`'s libp2p multiaddr, ending in /p2p/<peerId>. */
export async function devMultiaddr(id: number): Promise<string> {
  return `/ip4/127.0.0.1/tcp/${p2pPort(id)}/p2p/${(await devIdentity(id)).peerId}`;
}

/**
 * `--members`: a count N (ids 1..N) or a comma/space separated id list. Without it the members are
 * 1..3, and a node whose id or peers lie outside that set is refused: every node of one demo must be
 * started with the same --members, or they would disagree on the quorum size.
 */
export function parseMembers(value: string | undefined, id: number, peers: number[]): number[] {
  let members: number[];
  if (value === undefined) {
    members = [1, 2, 3].slice(0, DEFAULT_MEMBERS);
  } else if (/^\d+$/.test(value.trim())) {
    const n = Number(value);
    members = Array.from({ length: n }, (_, i) => i + 1);
  } else {
    members = value.split(/[\s,]+/).filter((s) => s !== "").map((s) => Number(s));
  }
  members = [...new Set(members.map(checkId))].sort((a, b) => a - b);
  for (const x of [id, ...peers]) {
    if (!members.includes(x)) {
      throw new RangeError(
        `node ${x} is not a member of {${members.join(",")}}: pass --members with every id of the demo ` +
          `(the same value to every node), e.g. --members ${Math.max(id, ...peers, ...members)}`,
      );
    }
  }
  if (peers.includes(id)) throw new RangeError(`node ${id} lists itself as a peer`);
  return members;
}

/**
 * The default leader priority: links first, then the id (the original's pid order). The best-linked
 * node is preferred among the quorum-connected ones; the quorum-connected rule decides who may lead at all.
 */
export function defaultPriority(id: number, links: number): number {
  return links * (MAX_DEMO_ID + 1) + id;
}
