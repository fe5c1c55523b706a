/**
 * /chiselstore/admin/1.0.0: membership changes between nodes.
 *
 * - `join` / `remove`: ask the leader (a follower forwards once) to propose a stop sign with the new member
 *   set; answered once the new configuration runs on the leader.
 * - `fetch`: a node started with `--join` asks a member for the configuration it was added to, plus the
 *   current database snapshot. Members only answer peers that are members of their current configuration,
 *   which the connection gater enforces anyway: a joiner is let in once the stop sign adding it is decided.
 *
 * Frames: a JSON header (UTF-8, length-prefixed) optionally followed by snapshot bytes.
 */
import { Reader, Writer } from "../store/binary.ts";
import type { ClusterConfig } from "./cluster_config.ts";
import { type ErrorCode, NodeError } from "./errors.ts";

export const ADMIN_PROTOCOL = "/chiselstore/admin/1.0.0";

export type AdminRequest = { op: "join"; addr: string } | { op: "remove"; id: string } | { op: "fetch" };

export type AdminResponse =
  | { ok: true; config: ClusterConfig; snapshot?: Uint8Array; snapshotIdx?: number }
  | { ok: false; code: ErrorCode; message: string; leader?: string };

export function encodeAdmin(v: AdminRequest | AdminResponse): Uint8Array {
  const w = new Writer();
  const { snapshot, ...header } = v as { snapshot?: Uint8Array };
  w.str(JSON.stringify(header));
  w.bytes(snapshot ?? new Uint8Array(0));
  return w.finish();
}

function decode(bytes: Uint8Array): { header: Record<string, unknown>; snapshot: Uint8Array } {
  const r = new Reader(bytes);
  const header = JSON.parse(r.str());
  const snapshot = r.bytes();
  r.end();
  if (typeof header !== "object" || header === null) throw new Error("header is not an object");
  return { header, snapshot };
}

export function decodeAdminRequest(bytes: Uint8Array): AdminRequest {
  try {
    const { header: h } = decode(bytes);
    if (h.op === "join" && typeof h.addr === "string") return { op: "join", addr: h.addr };
    if (h.op === "remove" && typeof h.id === "string") return { op: "remove", id: h.id };
    if (h.op === "fetch") return { op: "fetch" };
    throw new Error(`unknown admin operation ${JSON.stringify(h.op)}`);
  } catch (e) {
    throw new NodeError("bad-request", `malformed admin request: ${(e as Error).message}`);
  }
}

export function decodeAdminResponse(bytes: Uint8Array): AdminResponse {
  try {
    const { header: h, snapshot } = decode(bytes);
    if (h.ok === true) {
      return {
        ok: true,
        config: h.config as ClusterConfig,
        ...(snapshot.byteLength > 0 ? { snapshot } : {}),
        ...(typeof h.snapshotIdx === "number" ? { snapshotIdx: h.snapshotIdx } : {}),
      };
    }
    return {
      ok: false,
      code: h.code as ErrorCode,
      message: String(h.message),
      ...(typeof h.leader === "string" ? { leader: h.leader } : {}),
    };
  } catch (e) {
    return { ok: false, code: "internal", message: `malformed admin response: ${(e as Error).message}` };
  }
}
