/**
 * Checks on a node's data directory made before anything in it is used. A node's identity (node.key) and its
 * replica state (the logs, cluster.json) belong together: a node that lost its key but kept its log would
 * come back under a new peer ID that no member knows, with a log that claims promises made by the old one.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { KEY_FILE } from "../net/identity.ts";

/** Entries that only a node that already had an identity can have written. */
function isReplicaState(name: string): boolean {
  return name === "cluster.json" || name === "raft-log" || /^raft-log-c\d+$/.test(name);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT" || (e as Error).name === "NotFound") return false;
    throw e;
  }
}

/** Refuses a directory that holds replica state but no node.key, instead of minting a new identity. */
export async function checkIdentityKept(dataDir: string): Promise<void> {
  if (await exists(join(dataDir, KEY_FILE))) return;
  let names: string[];
  try {
    names = await readdir(dataDir);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT" || (e as Error).name === "NotFound") return;
    throw e;
  }
  const state = names.filter(isReplicaState).sort();
  if (state.length === 0) return;
  throw new Error(
    `${join(dataDir, KEY_FILE)} is missing but ${dataDir} holds a replica's state (${state.join(", ")}): ` +
      `this node's identity is lost. Restore ${KEY_FILE} from a backup, or move the directory away and add ` +
      `the node back as a new member (chiselstore join).`,
  );
}
