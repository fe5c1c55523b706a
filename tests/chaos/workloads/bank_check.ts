/**
 * The bank checker. Accounts 0..K-1 start with known balances; clients move money between them in
 * transactions and read all balances at once. Money is conserved by every transfer, so:
 * - every successful read sees exactly the K accounts, none negative, summing to the total (a read in the
 *   middle of a transfer, or of a half-applied one, would see the sum off by the amount);
 * - after healing, every replica holds balances summing to the total, the same balances and the same
 *   checksum;
 * - each transfer also writes its id to a ledger table in the same transaction, so the final state says which
 *   indeterminate transfers took effect: every acknowledged transfer is in every replica's ledger exactly once,
 *   no failed or never-attempted one is, and the balances are the initial ones moved by exactly the ledger's
 *   transfers (a lost, doubled or half-applied transfer fails this even when the total is intact).
 */
import type { Outcome, Verdict } from "./workload.ts";
import { checksumProblems, countOutcomes, type FinalState } from "./workload.ts";

export interface TransferOp {
  kind: "transfer";
  /** Unique per attempt; what the ledger records. */
  id: number;
  from: number;
  to: number;
  amount: number;
  /** ok: committed; fail: rolled back (e.g. the balance CHECK); indeterminate: unknown (timeout, node died). */
  outcome: Outcome;
  invoke: number;
  complete: number;
  process: string;
}

export interface BankReadOp {
  kind: "read";
  /** Balances by account id, as read (ok reads only). */
  balances: number[];
  /** Account ids in the order the read returned them (to catch missing or extra rows). */
  ids: number[];
  outcome: Outcome;
  invoke: number;
  complete: number;
  process: string;
}

export type BankOp = TransferOp | BankReadOp;

export interface BankModel {
  /** Initial balance of each account; its length is K. */
  initial: number[];
}

/** A replica's final state: balances by account id, and the transfer ids in its ledger. */
export interface BankState {
  balances: number[];
  ledger: number[];
}

export function checkBank(
  model: BankModel,
  history: readonly BankOp[],
  finals: readonly FinalState<BankState>[],
): Verdict {
  const t0 = performance.now();
  const k = model.initial.length;
  const total = model.initial.reduce((a, b) => a + b, 0);
  const problems: string[] = [];
  const describe = (b: number[]): string => `[${b.join(", ")}]`;

  const bad: string[] = [];
  for (const op of history) {
    if (op.kind !== "read" || op.outcome !== "ok") continue;
    const where = `read by ${op.process} @ ${op.invoke.toFixed(1)}..${op.complete.toFixed(1)}`;
    const idsOk = op.ids.length === k && op.ids.every((id, i) => id === i);
    const sum = op.balances.reduce((a, b) => a + b, 0);
    if (!idsOk) bad.push(`${where} saw accounts [${op.ids.join(", ")}], expected 0..${k - 1}`);
    else if (sum !== total) {
      bad.push(
        `${where} saw ${describe(op.balances)} summing to ${sum}, not ${total}: a partial transfer`,
      );
    } else if (op.balances.some((b) => b < 0)) {
      bad.push(`${where} saw a negative balance ${describe(op.balances)}`);
    }
  }
  // Capped: a systematic failure would otherwise list every read.
  problems.push(
    ...bad.slice(0, 10),
    ...(bad.length > 10 ? [`... and ${bad.length - 10} more bad reads`] : []),
  );

  for (const f of finals) {
    const sum = f.state.balances.reduce((a, b) => a + b, 0);
    if (f.state.balances.length !== k) {
      problems.push(`${f.name} ends with ${f.state.balances.length} accounts, not ${k}`);
    } else if (sum !== total) {
      problems.push(`${f.name} ends with ${describe(f.state.balances)} summing to ${sum}, not ${total}`);
    }
  }
  for (const f of finals.slice(1)) {
    if (describe(f.state.balances) !== describe(finals[0].state.balances)) {
      problems.push(
        `replicas disagree: ${finals[0].name} ${describe(finals[0].state.balances)} vs ${f.name} ${
          describe(f.state.balances)
        }`,
      );
    }
  }
  problems.push(...checksumProblems(finals));

  // The ledger names the transfers that took effect; the balances must be exactly their result.
  const transfers = new Map<number, TransferOp>();
  for (const op of history) if (op.kind === "transfer") transfers.set(op.id, op);
  let applied = 0;
  for (const f of finals) {
    const seen = new Map<number, number>();
    for (const id of f.state.ledger) seen.set(id, (seen.get(id) ?? 0) + 1);
    const listed: string[] = [];
    for (const t of transfers.values()) {
      const n = seen.get(t.id) ?? 0;
      if (t.outcome === "ok" && n === 0) {
        listed.push(`${f.name}: acknowledged transfer ${t.id} (${t.process}) is lost`);
      }
      if (t.outcome === "fail" && n > 0) {
        listed.push(`${f.name}: failed transfer ${t.id} (${t.process}) took effect`);
      }
    }
    for (const [id, n] of seen) {
      if (n > 1) listed.push(`${f.name}: transfer ${id} applied ${n} times`);
      if (!transfers.has(id)) listed.push(`${f.name}: transfer ${id} in the ledger was never attempted`);
    }
    problems.push(
      ...listed.slice(0, 10),
      ...(listed.length > 10 ? [`... and ${listed.length - 10} more`] : []),
    );
    const expect = [...model.initial];
    for (const id of f.state.ledger) {
      const t = transfers.get(id);
      if (!t) continue;
      expect[t.from] -= t.amount;
      expect[t.to] += t.amount;
    }
    if (describe(expect) !== describe(f.state.balances)) {
      problems.push(
        `${f.name} ends with ${
          describe(f.state.balances)
        }, but its ledger's ${f.state.ledger.length} transfers give ` +
          `${describe(expect)}: a transfer was applied in part or not recorded`,
      );
    }
    if (f === finals[0]) {
      applied = f.state.ledger.filter((id) => transfers.get(id)?.outcome === "indeterminate").length;
    }
  }

  const reads = history.filter((op) => op.kind === "read" && op.outcome === "ok").length;
  return {
    result: problems.length > 0 ? "violation" : "ok",
    problems,
    figures: {
      ops: history.length,
      okReads: reads,
      ...countOutcomes(history),
      indeterminateApplied: applied,
    },
    checkMs: performance.now() - t0,
  };
}
