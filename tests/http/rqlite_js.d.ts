/** The part of rqlite-js (untyped, CommonJS) that the compatibility test uses. */
declare module "rqlite-js" {
  interface DataResult {
    get(column: string): unknown;
    getLastInsertId(): number | undefined;
    getRowsAffected(): number;
    toObject(): Record<string, unknown>;
  }
  interface DataResultError extends Error {
    toObject(): { error: string };
  }
  interface DataResults {
    hasError(): boolean;
    getFirstError(): DataResultError | undefined;
    get(index: number): DataResult | DataResultError | undefined;
    getResults(): (DataResult | DataResultError)[];
    toArray(): Record<string, unknown>[];
    getTime(): number;
  }
  interface RequestOptions {
    level?: "none" | "weak" | "linearizable" | "strong";
    transaction?: boolean;
    timings?: boolean;
    raw?: boolean;
  }
  export class DataApiClient {
    constructor(hosts: string | string[], options?: Record<string, unknown>);
    query(sql: string | unknown[], options?: RequestOptions): Promise<DataResults>;
    execute(sql: string | unknown[], options?: RequestOptions): Promise<DataResults>;
  }
  export class StatusApiClient {
    constructor(hosts: string | string[], options?: Record<string, unknown>);
    status(options?: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }>;
  }
}
