/** Typed errors of the SQL state machine layer. */

/** Bytes that are not a valid command (or stored result): thrown by the decoders, never anything else. */
export class CommandDecodeError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = "CommandDecodeError";
    this.offset = offset;
  }
}

/** A value or command that cannot be encoded (bad request id, unsupported value type, ...). */
export class CommandEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandEncodeError";
  }
}

/** Statements refused before proposing and, identically, by the applier. */
export class ValidationError extends Error {
  /** Index of the offending statement in the command, or -1 for the command as a whole. */
  readonly statementIndex: number;
  constructor(message: string, statementIndex: number) {
    super(statementIndex >= 0 ? `statement ${statementIndex}: ${message}` : message);
    this.name = "ValidationError";
    this.statementIndex = statementIndex;
  }
}

/**
 * Misuse of the state machine or a failure that is not deterministic (wasm out of memory, snapshot of the
 * wrong index, gap in the applied log). The host must stop the node rather than continue diverged.
 */
export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}
