/**
 * GET /db/checksum: this node's applied index and the SHA-256 of its database file at that index (the
 * store's checksum). Two replicas at the same index must report the same digest; comparing them over HTTP is
 * how the crash tests (tests/crash/) check that real processes hold identical databases.
 */
import type { Checksum } from "../../store/state_machine.ts";
import type { ChiselStore } from "../node.ts";

export type { Checksum };

/** The body of GET /db/checksum: `{"index": n, "sha256": "<64 hex digits>"}`. */
export async function checksumBody(node: Pick<ChiselStore, "checksum">): Promise<Checksum> {
  const { index, sha256 } = await node.checksum();
  return { index, sha256 };
}
