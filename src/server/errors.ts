/** Errors a node returns to callers: a stable code, a message a person can act on, and the leader if known. */

export const ERROR_CODES = [
  "internal",
  "bad-request",
  "no-leader",
  "not-leader",
  "timeout",
  "not-member",
  "stopped",
  "reconfiguring",
] as const;

export type ErrorCode = typeof ERROR_CODES[number];

export class NodeError extends Error {
  override name = "NodeError";
  readonly code: ErrorCode;
  /** The leader's peer ID when one is known: where a client could retry. */
  readonly leader: string | undefined;
  constructor(code: ErrorCode, message: string, leader?: string) {
    super(message);
    this.code = code;
    this.leader = leader;
  }
}
