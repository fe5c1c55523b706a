/**
 * The SQL state machine layer: command codec, determinism, validation, results and the applier.
 * See docs/store.md.
 */
export {
  type Command,
  decodeCommand,
  encodeCommand,
  type NamedParams,
  type Params,
  type RequestId,
  type Statement,
} from "./command.ts";
export { type CommandResult, type SqlValue, type StatementResult } from "./results.ts";
export { checkStatements, INTERNAL_PREFIX } from "./validate.ts";
export { randomSeed, withClock } from "./determinism.ts";
export { CommandDecodeError, CommandEncodeError, StoreError, ValidationError } from "./errors.ts";
export { loadSqlJs } from "./sqljs.ts";
export {
  type Checksum,
  DEFAULT_CLIENT_TTL_MS,
  DEFAULT_DEDUPE_WINDOW,
  type QueryOptions,
  SqlStateMachine,
  type SqlStateMachineOptions,
} from "./state_machine.ts";
