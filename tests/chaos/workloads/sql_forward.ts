/** A Replica's SqlApi calls, forwarded to whatever serves them now (a node that may be restarted, a client). */
import type {
  CommonExecuteOptions,
  CommonQueryOptions,
  StatementInput,
} from "../../../src/server/call_args.ts";
import type { Params } from "../../../src/store/command.ts";
import type { CommandResult, StatementResult } from "../../../src/store/results.ts";

type Call<R> = (first: unknown, second?: unknown, third?: unknown) => Promise<R>;

export interface Forwarded {
  execute(sql: string, params?: Params, opts?: CommonExecuteOptions): Promise<CommandResult>;
  execute(statements: StatementInput | StatementInput[], opts?: CommonExecuteOptions): Promise<CommandResult>;
  query(sql: string, params?: Params, opts?: CommonQueryOptions): Promise<StatementResult[]>;
  query(statements: StatementInput | StatementInput[], opts?: CommonQueryOptions): Promise<StatementResult[]>;
}

/**
 * Builds execute/query that run the op on the current server (looked up per call, so it may throw for a
 * down node), wrapped by `via` (e.g. a client-side deadline).
 */
export function forwarded(
  server: () => { execute: unknown; query: unknown },
  via: <R>(run: () => Promise<R>) => Promise<R> = (run) => run(),
): Forwarded {
  const call = <R>(op: "execute" | "query", a: unknown[]): Promise<R> =>
    via(async () => {
      const s = server(); // may throw (a down node): inside async that is a rejection, like any failed call
      return await (s[op] as Call<R>).call(s, a[0], a[1], a[2]);
    });
  return {
    execute: (...a: unknown[]) => call<CommandResult>("execute", a),
    query: (...a: unknown[]) => call<StatementResult[]>("query", a),
  } as Forwarded;
}
