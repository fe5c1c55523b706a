/**
 * The append-only set workload: each client inserts elements no one else uses (client id * 1e6 + sequence)
 * into s(e), a table with no unique constraint, and records each insert as ok, failed or indeterminate.
 */
import type { Prng } from "../../sim/prng.ts";
import { NodeError } from "../../../src/server/errors.ts";
import { checkSet, type InsertOp } from "./set_check.ts";
import { type Checksum, definitelyFailed, readEach, type Replica } from "./target.ts";
import type { Verdict, Workload } from "./workload.ts";

export class SetWorkload implements Workload {
  readonly name = "set";
  readonly history: InsertOp[] = [];
  readonly #seq = new Map<number, number>();

  async setup(r: Replica): Promise<void> {
    const res = await r.execute("CREATE TABLE s(e INTEGER NOT NULL)");
    if (res.results[0]?.error) throw new Error(`set setup: ${res.results[0].error}`);
  }

  async step(client: number, r: Replica, _rand: Prng): Promise<boolean> {
    const seq = (this.#seq.get(client) ?? 0) + 1;
    this.#seq.set(client, seq);
    const element = client * 1_000_000 + seq;
    const invoke = performance.now();
    let outcome: InsertOp["outcome"];
    let answered = true;
    try {
      const res = await r.execute("INSERT INTO s(e) VALUES (?)", [element]);
      const err = res.error ?? res.results[0]?.error;
      if (err) throw new Error(`set insert: ${err}`); // no SQL error is expected: a broken workload, not a fault
      outcome = res.results[0].rowsAffected === 1 ? "ok" : "fail";
    } catch (e) {
      if (!(e instanceof NodeError)) throw e;
      outcome = definitelyFailed(e) ? "fail" : "indeterminate";
      answered = false;
    }

    this.history.push({
      kind: "insert",
      element,
      outcome,
      invoke,
      complete: performance.now(),
      process: `c${client}@${r.name}`,
    });
    return answered;
  }

  async check(replicas: Replica[], checksums: Checksum[]): Promise<Verdict> {
    const states = await readEach(replicas, "SELECT e FROM s");
    return checkSet(
      this.history,
      states.map((s, i) => ({
        name: s.name,
        checksum: checksums[i],
        state: s.rows.map((row) => Number(row[0])),
      })),
    );
  }
}
