/**
 * /chiselstore/client/1.0.0: how a follower forwards a client's request to the leader, and how libp2p
 * clients (P2pClient) talk to any node (a non-member's request is served like a local call, forwarded to the
 * leader if need be). Binary frames built from the store's command and result codecs:
 *
 *   request  = op byte (1 execute | 2 query) · consistency byte · command bytes (encodeCommand)
 *   response = 1 · result bytes (encodeResult)   |   0 · error code byte · message · leader ("" = unknown)
 *
 * The leader assigns the command's timestamp and seed itself; whatever the sender put there is ignored.
 */
import { Reader, Writer } from "../store/binary.ts";
import { type Command, decodeCommand, encodeCommand } from "../store/command.ts";
import { type CommandResult, decodeResult, encodeResult } from "../store/results.ts";
import { type Consistency, CONSISTENCY_LEVELS } from "./consistency.ts";
import { ERROR_CODES, type ErrorCode, NodeError } from "./errors.ts";

export const CLIENT_PROTOCOL = "/chiselstore/client/1.0.0";
/** The same requests and responses, many per long-lived stream (src/net/mux_rpc.ts): how members forward. */
export const FORWARD_PROTOCOL = "/chiselstore/forward/1.0.0";

export type ClientRequest =
  | { op: "execute"; command: Command }
  | { op: "query"; consistency: Consistency; command: Command };

export function encodeRequest(r: ClientRequest): Uint8Array {
  const w = new Writer();
  w.byte(r.op === "execute" ? 1 : 2);
  w.byte(r.op === "query" ? CONSISTENCY_LEVELS.indexOf(r.consistency) : 0);
  w.bytes(encodeCommand(r.command));
  return w.finish();
}

/** Throws NodeError("bad-request") on anything that is not a well-formed request. */
export function decodeRequest(bytes: Uint8Array): ClientRequest {
  try {
    const r = new Reader(bytes);
    const op = r.byte();
    const level = r.byte();
    const command = decodeCommand(r.bytes());
    r.end();
    if (op === 1) return { op: "execute", command };
    const consistency = CONSISTENCY_LEVELS[level];
    if (op === 2 && consistency) return { op: "query", consistency, command };
    throw new Error(`unknown operation ${op}/${level}`);
  } catch (e) {
    throw new NodeError("bad-request", `malformed client request: ${(e as Error).message}`);
  }
}

export type ClientResponse = { ok: true; result: CommandResult } | { ok: false; error: NodeError };

export function encodeResponse(r: ClientResponse): Uint8Array {
  const w = new Writer();
  if (r.ok) {
    w.byte(1);
    w.bytes(encodeResult(r.result));
  } else {
    w.byte(0);
    w.byte(ERROR_CODES.indexOf(r.error.code));
    w.str(r.error.message);
    w.str(r.error.leader ?? "");
  }
  return w.finish();
}

export function decodeResponse(bytes: Uint8Array): ClientResponse {
  try {
    const r = new Reader(bytes);
    if (r.byte() === 1) {
      const result = decodeResult(r.bytes());
      r.end();
      return { ok: true, result };
    }
    const code: ErrorCode = ERROR_CODES[r.byte()] ?? "internal";
    const message = r.str();
    const leader = r.str();
    r.end();
    return { ok: false, error: new NodeError(code, message, leader || undefined) };
  } catch (e) {
    return { ok: false, error: new NodeError("internal", `malformed response: ${(e as Error).message}`) };
  }
}
