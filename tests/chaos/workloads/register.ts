/**
 * The register workload as SQL (table kv(k TEXT PRIMARY KEY, v INTEGER)), checked for linearizability by
 * ../linearizability.ts: clients read a key (each client at its own consistency level), upsert a unique value
 * or compare-and-set from the last value they saw. A write or CAS that ends in a NodeError is indeterminate;
 * a read that does is dropped (it tells nothing).
 */
import type { Prng } from "../../sim/prng.ts";
import { NodeError } from "../../../src/server/errors.ts";
import type { Consistency } from "../../../src/server/consistency.ts";
import type { SqlApi } from "../../../src/server/call_args.ts";
import { waitFor } from "../../net/wait.ts";
import { checkHistory, describeResult, type Op, type Value } from "../linearizability.ts";
import { type Checksum, definitelyFailed, type Replica } from "./target.ts";
import { checksumProblems, countOutcomes, type Verdict, type Workload } from "./workload.ts";

export const KEYS = ["a", "b", "c"];
export const CREATE = "CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER)";
export const UPSERT = "INSERT INTO kv(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v";
const CAS = "UPDATE kv SET v = ? WHERE k = ? AND v = ?";

export async function readKey(db: SqlApi, key: string, consistency: Consistency): Promise<Value> {
  const [r] = await db.query("SELECT v FROM kv WHERE k = ?", [key], { consistency });
  if (r.error) throw new Error(r.error);
  const row = r.values?.[0];
  return row === undefined || row[0] === null ? null : Number(row[0]);
}

export class RegisterWorkload implements Workload {
  readonly name = "register";
  readonly history: Op[] = [];
  readonly #levels: Consistency[];
  readonly #seq = new Map<number, number>();
  /** The last value each client saw per key: what its CASes expect. */
  readonly #seen = new Map<string, number>();

  /** Client i reads at `levels[i % levels.length]`. */
  constructor(levels: Consistency[] = ["linearizable", "linearizable", "strong"]) {
    this.#levels = levels;
  }

  async setup(r: Replica | SqlApi): Promise<void> {
    const res = await r.execute(CREATE);
    if (res.results[0]?.error) throw new Error(`register setup: ${res.results[0].error}`);
  }

  level(client: number): Consistency {
    return this.#levels[client % this.#levels.length];
  }

  async step(client: number, r: SqlApi & { name?: string }, rand: Prng): Promise<boolean> {
    const key = rand.pick(KEYS);
    const x = rand.next();
    if (x < 0.45) return await this.read(client, r, key);
    const seq = (this.#seq.get(client) ?? 0) + 1;
    this.#seq.set(client, seq);
    const value = client * 1_000_000 + seq; // unique: a value names its write
    const expected = this.#seen.get(`${client}/${key}`);
    const isCas = x >= 0.75 && expected !== undefined; // `v = NULL` never matches: no CAS from an absent key
    const process = `c${client}@${r.name ?? "?"}/${this.level(client)}`;
    const invoke = performance.now();
    try {
      if (isCas) {
        const res = await r.execute(CAS, [value, key, expected]);
        const out = res.results[0];
        if (out.error) throw new Error(out.error);
        const ok = out.rowsAffected === 1;
        this.history.push({
          kind: "cas",
          key,
          expected,
          value,
          invoke,
          complete: performance.now(),
          outcome: ok ? "ok" : "fail",
          process,
        });
        if (ok) this.#seen.set(`${client}/${key}`, value);
      } else {
        const res = await r.execute(UPSERT, [key, value]);
        if (res.results[0].error) throw new Error(res.results[0].error);
        this.history.push({
          kind: "write",
          key,
          value,
          invoke,
          complete: performance.now(),
          outcome: "ok",
          process,
        });
        this.#seen.set(`${client}/${key}`, value);
      }
      return true;
    } catch (e) {
      if (!(e instanceof NodeError)) throw e;
      const complete = performance.now();
      // Never sent: a write that definitely failed; a CAS is left out (its `fail` would claim a comparison).
      if (definitelyFailed(e)) {
        if (!isCas) {
          this.history.push({ kind: "write", key, value, invoke, complete, outcome: "fail", process });
        }
        return false;
      }
      this.history.push(
        isCas
          ? {
            kind: "cas",
            key,
            expected: expected!,
            value,
            invoke,
            complete,
            outcome: "indeterminate",
            process,
          }
          : { kind: "write", key, value, invoke, complete, outcome: "indeterminate", process },
      );
      return false;
    }
  }

  /** One read of `key` by `client` at its level; returns whether it succeeded. */
  async read(client: number, r: SqlApi & { name?: string }, key: string): Promise<boolean> {
    const consistency = this.level(client);
    const process = `c${client}@${r.name ?? "?"}/${consistency}`;
    const invoke = performance.now();
    try {
      const value = await readKey(r, key, consistency);
      this.history.push({
        kind: "read",
        key,
        value,
        invoke,
        complete: performance.now(),
        outcome: "ok",
        process,
      });
      if (value !== null) this.#seen.set(`${client}/${key}`, value);
      return true;
    } catch (e) {
      if (!(e instanceof NodeError)) throw e;
      this.history.push({
        kind: "read",
        key,
        value: null,
        invoke,
        complete: performance.now(),
        outcome: "fail",
        process,
      });
      return false;
    }
  }

  /** Final reads of every key through every replica (retried until they succeed), then the check. */
  async check(replicas: Replica[], checksums: Checksum[]): Promise<Verdict> {
    for (const [i, r] of replicas.entries()) {
      for (const key of KEYS) {
        await waitFor(() => this.read(i, r, key), 15_000, `a final read of ${key} via ${r.name}`);
      }
    }
    const t0 = performance.now();
    const res = checkHistory(this.history, { timeoutMs: 15_000 });
    const checkMs = performance.now() - t0;
    const problems = res.result === "ok" ? [] : [describeResult(res)];
    const sums = checksumProblems(replicas.map((r, i) => ({ name: r.name, checksum: checksums[i] })));
    problems.push(...sums);
    return {
      result: res.result === "violation" || sums.length > 0 ? "violation" : res.result,
      problems,
      figures: { ops: this.history.length, ...countOutcomes(this.history) },
      checkMs,
    };
  }
}
