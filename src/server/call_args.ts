/**
 * The two call shapes shared by ChiselStore and its clients: `(sql, params?, options?)` and
 * `(statements, options?)`.
 */
import type { Params, Statement } from "../store/command.ts";
import type { CommandResult, StatementResult } from "../store/results.ts";
import type { Consistency } from "./consistency.ts";

/** One statement: plain SQL, or SQL with positional (`?`) or named (`:name`) parameters. */
export type StatementInput = string | Statement;

/**
 * Sorts out the two call shapes: (sql, params?, options?) and (statements, options?). After a SQL string,
 * an object whose keys are all option names is taken as options (so `query(sql, { consistency })` works);
 * any other object is named parameters.
 */
export function statementArgs<O>(
  first: StatementInput | StatementInput[],
  second: Params | O | undefined,
  third: O | undefined,
  optionKeys: readonly string[],
): [StatementInput | StatementInput[], O] {
  if (typeof first !== "string") return [first, (second ?? {}) as O];
  if (second === undefined) return [first, third ?? ({} as O)];
  const keys = Array.isArray(second) ? [] : Object.keys(second as object);
  const looksLikeOptions = keys.length > 0 && keys.every((k) => optionKeys.includes(k));
  if (looksLikeOptions && third === undefined) return [first, second as O];
  return [{ sql: first, params: second as Params }, third ?? ({} as O)];
}

/** The options every execute() takes: ChiselStore's, HttpClient's and P2pClient's. */
export interface CommonExecuteOptions {
  /** Run all statements as one atomic transaction. */
  transaction?: boolean;
  /** Deadline of the call. */
  timeoutMs?: number;
}

/** The options every query() takes. */
export interface CommonQueryOptions {
  /** Default "weak". */
  consistency?: Consistency;
  /** Deadline of the call. */
  timeoutMs?: number;
}

/**
 * The call shapes ChiselStore, HttpClient and P2pClient share, so code can run against an embedded node or
 * a remote one alike.
 */
export interface SqlApi {
  execute(sql: string, params?: Params, opts?: CommonExecuteOptions): Promise<CommandResult>;
  execute(statements: StatementInput | StatementInput[], opts?: CommonExecuteOptions): Promise<CommandResult>;
  query(sql: string, params?: Params, opts?: CommonQueryOptions): Promise<StatementResult[]>;
  query(statements: StatementInput | StatementInput[], opts?: CommonQueryOptions): Promise<StatementResult[]>;
}
