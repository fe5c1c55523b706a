/**
 * A write load over HTTP and the check that follows a crash. Concurrent writers insert rows with unique keys
 * through the running (and ready) nodes in turn, recording every outcome: "ack" (HTTP 200, no error, one row inserted)
 * or "failed" (any other answer, a refused or reset connection, a timeout). A failed write is indeterminate:
 * it may or may not have been applied. The HTTP API has no request id (neither has rqlite's), so a client
 * cannot retry with the same identity; these writers never retry, and the check is that every acknowledged key
 * is on every replica exactly once and that no key, acknowledged or not, is there twice.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { waitFor } from "../net/wait.ts";
import type { ProcCluster } from "./harness.ts";

/** The table a WriteLoad inserts into (several loads on one cluster each use their own). */
export function tableSql(table = "t"): string {
  return `CREATE TABLE ${table}(id INTEGER PRIMARY KEY, k TEXT NOT NULL, via INTEGER NOT NULL)`;
}

export const TABLE_SQL = tableSql();

export interface WriteRecord {
  key: string;
  /** The node the request was sent to. */
  via: number;
  /** performance.now() when sent and when answered. */
  sentAt: number;
  doneAt: number;
  acked: boolean;
  detail?: string;
}

/** Pause after a failed write, so writers do not spin on a node that refuses connections. */
const FAILURE_PAUSE_MS = 20;

export class WriteLoad {
  readonly records: WriteRecord[] = [];
  readonly table: string;
  readonly #cluster: ProcCluster;
  readonly #timeoutMs: number;
  #stopped = false;
  #writers: Promise<void>[] = [];
  #error: unknown;

  constructor(cluster: ProcCluster, writers: number, timeoutMs = 3000, table = "t") {
    this.#cluster = cluster;
    this.table = table;
    this.#timeoutMs = timeoutMs;
    for (let w = 0; w < writers; w++) {
      this.#writers.push(this.#writer(w).catch((e) => void (this.#error ??= e)));
    }
  }

  /**
   * Adds an open-loop writer: one write every `everyMs` to the next serving node, without waiting for earlier
   * ones (at most `maxInFlight` pending). Closed-loop writers stuck on a node that waits for a lost leader send
   * nothing until their requests time out; this one keeps sending, so the first write decided after a
   * recovery is sent at most `everyMs` after it.
   */
  pace(everyMs: number, maxInFlight = 64): void {
    const run = async () => {
      const pending = new Set<Promise<boolean>>();
      for (let seq = 0; !this.#stopped; seq++) {
        if (pending.size < maxInFlight) {
          const up = this.#cluster.serving();
          if (up.length === 0) throw new Error("no node is serving");
          const p: Promise<boolean> = this.#send(`p-${seq}`, up[seq % up.length]).finally(() =>
            pending.delete(p)
          );
          pending.add(p);
        }
        await sleep(everyMs);
      }
      await Promise.all(pending);
    };
    this.#writers.push(run().catch((e) => void (this.#error ??= e)));
  }

  async #writer(w: number): Promise<void> {
    for (let seq = 0; !this.#stopped; seq++) {
      const up = this.#cluster.serving();
      if (up.length === 0) throw new Error("no node is serving");
      if (!await this.#send(`w${w}-${seq}`, up[(w + seq) % up.length])) await sleep(FAILURE_PAUSE_MS);
    }
  }

  /** Sends one write of `key` through node `via` and records the outcome; true when acknowledged. */
  async #send(key: string, via: number): Promise<boolean> {
    const sentAt = performance.now();
    let detail: string | undefined;
    try {
      const r = await this.#cluster.nodes[via].client.execute(
        { sql: `INSERT INTO ${this.table}(k, via) VALUES(?, ?)`, params: [key, via] },
        { timeoutMs: this.#timeoutMs },
      );
      const res = r.results[0];
      if (r.error !== undefined || res?.error !== undefined || res?.rowsAffected !== 1) {
        detail = JSON.stringify(r);
      }
    } catch (e) {
      detail = (e as Error).message;
    }
    this.records.push({ key, via, sentAt, doneAt: performance.now(), acked: detail === undefined, detail });
    return detail === undefined;
  }

  /** Failed writes counted by reason (the error message with digits and peer IDs blanked). */
  failures(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.records) {
      if (r.acked) continue;
      const reason = (r.detail ?? "").replace(/12D3KooW\w+/g, "<peer>").replace(/\d+/g, "N").slice(0, 120);
      out[reason] = (out[reason] ?? 0) + 1;
    }
    return out;
  }

  acked(): WriteRecord[] {
    return this.records.filter((r) => r.acked);
  }

  /** Waits until `more` further writes are acknowledged (with a deadline); returns the acknowledged count. */
  async progress(more: number, timeoutMs: number, what: string): Promise<number> {
    const target = this.acked().length + more;
    await waitFor(() => this.acked().length >= target, timeoutMs, `${more} acknowledged writes ${what}`);
    return this.acked().length;
  }

  /** Stops the writers and waits for their last requests to be answered. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#writers);
    if (this.#error !== undefined) throw this.#error;
  }
}

/** What verify() saw: writes acknowledged and failed, and rows per replica. */
export interface Verified {
  acked: number;
  failed: number;
  /** Failed writes that were applied anyway (identical on every replica). */
  failedButApplied: number;
  rows: number;
  index: number;
}

/**
 * Once every node runs again and the load is stopped: waits for equal checksums on every node, then reads each
 * node's own database (level none) and checks that every acknowledged key is there exactly once, no key is
 * there twice, and nothing is there that no writer sent.
 */
export async function verify(c: ProcCluster, load: WriteLoad): Promise<Verified> {
  assert.equal(c.up().length, c.nodes.length, "verify with every node running");
  const sum = await c.converged();
  const sent = new Set(load.records.map((r) => r.key));
  const acked = load.acked();
  let first: Map<string, number> | undefined;
  for (const n of c.nodes) {
    const [res] = await n.client.query(`SELECT k, count(*) FROM ${load.table} GROUP BY k ORDER BY k`, {
      consistency: "none",
    });
    assert.equal(res.error, undefined, `${n.name}: ${res.error}`);
    const counts = new Map((res.values ?? []).map(([k, count]) => [String(k), Number(count)]));
    for (const [k, count] of counts) {
      assert.equal(count, 1, `${n.name}: key ${k} is there ${count} times`);
      assert.ok(sent.has(k), `${n.name}: key ${k} was never sent`);
    }
    const missing = acked.filter((r) => !counts.has(r.key));
    assert.deepEqual(missing, [], `${n.name}: acknowledged writes missing`);
    if (first) {
      assert.deepEqual(
        [...counts.keys()],
        [...first.keys()],
        `${n.name}: other rows than ${c.nodes[0].name}`,
      );
    }
    first ??= counts;
  }
  const failed = load.records.filter((r) => !r.acked);
  return {
    acked: acked.length,
    failed: failed.length,
    failedButApplied: failed.filter((r) => first!.has(r.key)).length,
    rows: first!.size,
    index: sum.index,
  };
}
