/**
 * The bank workload: K accounts (a CHECK keeps balances non-negative), clients transfer random amounts
 * between random accounts as one transaction of two UPDATEs (the rqlite `transaction` flag over HTTP, the
 * same option on the node API) plus a ledger row naming the transfer (so the checker knows which uncertain
 * transfers took effect), and read every balance in one SELECT at linearizable or strong consistency.
 */
import type { Prng } from "../../sim/prng.ts";
import { NodeError } from "../../../src/server/errors.ts";
import type { Consistency } from "../../../src/server/consistency.ts";
import { type BankOp, checkBank } from "./bank_check.ts";
import { type Checksum, definitelyFailed, readEach, type Replica } from "./target.ts";
import type { Verdict, Workload } from "./workload.ts";

const DEBIT = "UPDATE accounts SET balance = balance - ? WHERE id = ?";
const CREDIT = "UPDATE accounts SET balance = balance + ? WHERE id = ?";
const LEDGER = "INSERT INTO ledger(id) VALUES (?)";
const READ = "SELECT id, balance FROM accounts ORDER BY id";

export class BankWorkload implements Workload {
  readonly name = "bank";
  readonly history: BankOp[] = [];
  readonly initial: number[];
  readonly #readLevels: Consistency[];
  readonly #seq = new Map<number, number>();

  constructor(accounts = 5, balance = 100, readLevels: Consistency[] = ["linearizable", "strong"]) {
    this.initial = Array.from({ length: accounts }, () => balance);
    this.#readLevels = readLevels;
  }

  async setup(r: Replica): Promise<void> {
    const rows = this.initial.map((b, id) => ({
      sql: "INSERT INTO accounts(id, balance) VALUES (?, ?)",
      params: [id, b],
    }));
    const res = await r.execute([
      "CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0))",
      "CREATE TABLE ledger(id INTEGER NOT NULL)", // no unique constraint: a transfer applied twice would show
      ...rows,
    ], { transaction: true });
    const err = res.error ?? res.results.find((x) => x.error)?.error;
    if (err) throw new Error(`bank setup: ${err}`);
  }

  async step(client: number, r: Replica, rand: Prng): Promise<boolean> {
    const k = this.initial.length;
    const process = `c${client}@${r.name}`;
    const invoke = performance.now();
    if (rand.chance(0.4)) {
      const consistency = rand.pick(this.#readLevels);
      try {
        const [res] = await r.query(READ, undefined, { consistency });
        if (res.error) throw new Error(`bank read: ${res.error}`);
        const rows = (res.values ?? []).map((row) => [Number(row[0]), Number(row[1])]);
        this.history.push({
          kind: "read",
          ids: rows.map((row) => row[0]),
          balances: rows.map((row) => row[1]),
          outcome: "ok",
          invoke,
          complete: performance.now(),
          process: `${process}/${consistency}`,
        });
        return true;
      } catch (e) {
        if (!(e instanceof NodeError)) throw e;
        this.history.push({
          kind: "read",
          ids: [],
          balances: [],
          outcome: "fail",
          invoke,
          complete: performance.now(),
          process,
        });
        return false;
      }
    }
    const from = rand.int(k);
    const to = (from + 1 + rand.int(k - 1)) % k;
    const amount = 1 + rand.int(this.initial[0] / 2);
    const seq = (this.#seq.get(client) ?? 0) + 1;
    this.#seq.set(client, seq);
    const id = client * 1_000_000 + seq;
    let outcome: BankOp["outcome"];
    let answered = true;
    try {
      const res = await r.execute([
        { sql: DEBIT, params: [amount, from] },
        { sql: CREDIT, params: [amount, to] },
        { sql: LEDGER, params: [id] },
      ], { transaction: true });
      const err = res.error ?? res.results.find((x) => x.error)?.error;
      // An overdraft trips the CHECK: the transaction is rolled back, a definite no-op.
      if (err && !/CHECK constraint failed/.test(err)) throw new Error(`bank transfer: ${err}`);
      outcome = err || res.rolledBack ? "fail" : "ok";
    } catch (e) {
      if (!(e instanceof NodeError)) throw e;
      outcome = definitelyFailed(e) ? "fail" : "indeterminate";
      answered = false;
    }
    this.history.push({
      kind: "transfer",
      id,
      from,
      to,
      amount,
      outcome,
      invoke,
      complete: performance.now(),
      process,
    });
    return answered;
  }

  async check(replicas: Replica[], checksums: Checksum[]): Promise<Verdict> {
    const balances = await readEach(replicas, READ);
    const ledgers = await readEach(replicas, "SELECT id FROM ledger");
    // Rows come ordered by id: a missing or extra account shows as a wrong length.
    const finals = balances.map((s, i) => ({
      name: s.name,
      checksum: checksums[i],
      state: {
        balances: s.rows.map((row) => Number(row[1])),
        ledger: ledgers[i].rows.map((row) => Number(row[0])),
      },
    }));
    return checkBank({ initial: this.initial }, this.history, finals);
  }
}
