/**
 * The configuration a node currently runs: which members, from which global log index, and where they
 * listen. Persisted as <dataDir>/cluster.json (written atomically) once a node has gone through a
 * membership change or joined a cluster; a node without the file runs configuration 1 from its flags.
 */
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { NodeId } from "../omnipaxos/mod.ts";

export interface ClusterConfig {
  configId: number;
  members: NodeId[];
  /** Global log index of this configuration's first entry (the previous stop sign's index + 1). */
  startIdx: number;
  /** Known multiaddrs per member (each ending in /p2p/<id>). */
  addrs: Record<NodeId, string[]>;
}

const FILE = "cluster.json";

/** Configuration 1 keeps the historical directory name; later ones get their own log. */
export function logDirFor(dataDir: string, configId: number): string {
  return configId === 1 ? join(dataDir, "raft-log") : join(dataDir, `raft-log-c${configId}`);
}

export async function loadClusterConfig(dataDir: string): Promise<ClusterConfig | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, FILE), "utf8");
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT" || (e as Error).name === "NotFound") return undefined;
    throw e;
  }
  const path = join(dataDir, FILE);
  let c: ClusterConfig;
  try {
    c = JSON.parse(text) as ClusterConfig;
  } catch (e) {
    throw new Error(
      `${path} is not valid JSON (${(e as Error).message}); restore it from a backup or a peer`,
    );
  }
  const ok = typeof c === "object" && c !== null && Number.isSafeInteger(c.configId) && c.configId > 0 &&
    Array.isArray(c.members) &&
    c.members.every((m) => typeof m === "string" && m.length > 0) && Number.isSafeInteger(c.startIdx) &&
    typeof c.addrs === "object" && c.addrs !== null;
  if (!ok) throw new Error(`${path} is not a valid cluster configuration`);
  return c;
}

/** Write temp, fsync, rename: a crash leaves the old file or the new one, never half of either. */
export async function saveClusterConfig(dataDir: string, c: ClusterConfig): Promise<void> {
  const path = join(dataDir, FILE);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(JSON.stringify(c, null, 2));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Stop-sign metadata: the members' addresses, so every member can reach a newcomer. */
export function encodeAddrs(addrs: Record<NodeId, string[]>): Uint8Array {
  return enc.encode(JSON.stringify({ addrs }));
}

export function decodeAddrs(bytes: Uint8Array | undefined): Record<NodeId, string[]> {
  if (!bytes) return {};
  try {
    const v = JSON.parse(dec.decode(bytes)) as { addrs?: Record<string, unknown> };
    const out: Record<NodeId, string[]> = {};
    for (const [k, a] of Object.entries(v.addrs ?? {})) {
      if (Array.isArray(a)) out[k] = a.filter((x): x is string => typeof x === "string");
    }
    return out;
  } catch {
    return {};
  }
}
