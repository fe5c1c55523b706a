/**
 * The bank workload: its checker rejects hand-made violations (a partial-transfer read, a wrong total, a lost
 * or doubled transfer, balances off the ledger, diverging replicas), and real clusters pass it under partitions, node stops, kill -9 and SIGSTOP.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type BankOp, type BankState, checkBank, type TransferOp } from "./workloads/bank_check.ts";
import { BankWorkload } from "./workloads/bank.ts";
import { InProcessTarget } from "./workloads/inprocess.ts";
import { ProcTarget } from "./workloads/proc.ts";
import { netnsSkip, withNetnsTarget } from "./workloads/netns.ts";
import { faultSchedule, type RunReport, runWorkload } from "./workloads/run.ts";
import type { FinalState, Verdict } from "./workloads/workload.ts";

const model = { initial: [10, 10, 10] };
const sum = { index: 7, sha256: "ab".repeat(32) };
let clock = 0;
let nextId = 1;
const transfer = (
  from: number,
  to: number,
  amount: number,
  outcome: TransferOp["outcome"] = "ok",
): TransferOp => ({
  kind: "transfer",
  id: nextId++,
  from,
  to,
  amount,
  outcome,
  invoke: clock++,
  complete: clock++,
  process: "t",
});
const read = (balances: number[]): BankOp => ({
  kind: "read",
  balances,
  ids: balances.map((_, i) => i),
  outcome: "ok",
  invoke: clock++,
  complete: clock++,
  process: "r",
});
/** Replicas that all hold `balances` and the ledger of `applied`. */
const finals = (balances: number[], applied: TransferOp[], replicas = 2): FinalState<BankState>[] =>
  Array.from({ length: replicas }, (_, i) => ({
    name: `n${i}`,
    checksum: sum,
    state: { balances: [...balances], ledger: applied.map((t) => t.id) },
  }));
const problems = (v: Verdict): string => v.problems.join("\n");

test("bank checker: a valid history passes, indeterminate transfers may or may not have applied", () => {
  const [a, b, c] = [transfer(0, 1, 5), transfer(1, 2, 3, "indeterminate"), transfer(2, 0, 20, "fail")];
  const h = [a, read([5, 15, 10]), b, c];
  const v = checkBank(model, h, finals([5, 15, 10], [a]));
  assert.equal(v.result, "ok", problems(v));
  const applied = checkBank(model, h, finals([5, 12, 13], [a, b]));
  assert.equal(applied.result, "ok", problems(applied));
  assert.equal(applied.figures.indeterminateApplied, 1);
});

test("bank checker: a read of a partial transfer is a violation", () => {
  const a = transfer(0, 1, 5);
  const v = checkBank(model, [a, read([5, 10, 10])], finals([5, 15, 10], [a]));
  assert.equal(v.result, "violation");
  assert.match(problems(v), /summing to 25, not 30: a partial transfer/);
});

test("bank checker: a read missing an account is a violation", () => {
  const bad: BankOp = { ...read([15, 15]), ids: [0, 2] } as BankOp;
  const v = checkBank(model, [bad], finals([10, 10, 10], []));
  assert.equal(v.result, "violation");
  assert.match(problems(v), /saw accounts \[0, 2\]/);
});

test("bank checker: a wrong final total is a violation", () => {
  const a = transfer(0, 1, 5);
  const v = checkBank(model, [a], finals([5, 15, 11], [a]));
  assert.equal(v.result, "violation");
  assert.match(problems(v), /summing to 31, not 30/);
});

test("bank checker: a lost acknowledged transfer is a violation even with the total intact", () => {
  const a = transfer(0, 1, 5);
  const v = checkBank(model, [a], finals([10, 10, 10], []));
  assert.equal(v.result, "violation");
  assert.match(problems(v), /acknowledged transfer \d+ \(t\) is lost/);
});

test("bank checker: a doubled, a failed-yet-applied and a phantom transfer are violations", () => {
  const a = transfer(0, 1, 5);
  const f = transfer(1, 2, 1, "fail");
  const doubled = finals([0, 20, 10], [a, a]);
  assert.match(problems(checkBank(model, [a], doubled)), /applied 2 times/);
  assert.match(
    problems(checkBank(model, [a, f], finals([5, 14, 11], [a, f]))),
    /failed transfer \d+ \(t\) took effect/,
  );
  const ghost = finals([10, 10, 10], []);
  ghost[0].state.ledger.push(999);
  assert.match(problems(checkBank(model, [], ghost)), /transfer 999 in the ledger was never attempted/);
});

test("bank checker: balances that do not match the ledger are a violation", () => {
  const a = transfer(0, 1, 5);
  const v = checkBank(model, [a], finals([6, 14, 10], [a]));
  assert.equal(v.result, "violation");
  assert.match(problems(v), /its ledger's 1 transfers give \[5, 15, 10\]/);
});

test("bank checker: replicas that disagree, or whose checksums differ, are a violation", () => {
  const f = finals([10, 10, 10], []);
  f[1].state.balances = [9, 11, 10];
  const v = checkBank(model, [], f);
  assert.equal(v.result, "violation");
  assert.match(problems(v), /replicas disagree/);
  const g = finals([10, 10, 10], []);
  g[1].checksum = { index: 7, sha256: "cd".repeat(32) };
  const w = checkBank(model, [], g);
  assert.equal(w.result, "violation");
  assert.match(problems(w), /checksums differ/);
});

/** The run must have done real work: reads that saw the total, transfers that committed. */
function assertBankRun(r: RunReport): void {
  console.log(
    "bank figures:",
    JSON.stringify({
      target: r.target,
      faults: r.faults,
      ...r.verdict.figures,
      checkMs: Math.round(r.verdict.checkMs),
    }),
  );
  assert.equal(r.verdict.result, "ok", r.verdict.problems.join("\n"));
  assert.ok(r.verdict.figures.okReads >= 10, JSON.stringify(r.verdict.figures));
  assert.ok((r.verdict.figures["transfer:ok"] ?? 0) >= 10, JSON.stringify(r.verdict.figures));
  assert.ok(r.faults.length >= 2 * r.schedule.length, r.faults.join("; "));
}

test("bank on an in-process cluster under partitions and node stops", async () => {
  const t = await InProcessTarget.start(3);
  try {
    const schedule = faultSchedule(11, ["partition-leader", "kill", "partition"], 3, 6000, 3);
    assertBankRun(
      await runWorkload(t, new BankWorkload(), { seed: 11, durationMs: 6000, clients: 5, schedule }),
    );
  } finally {
    await t.stop();
  }
});

test("bank on real processes under kill -9 and SIGSTOP", async () => {
  await ProcTarget.with(3, {}, async (t) => {
    const schedule = faultSchedule(12, ["kill-leader", "pause"], 3, 8000, 2);
    assertBankRun(
      await runWorkload(t, new BankWorkload(), { seed: 12, durationMs: 8000, clients: 4, schedule }),
    );
  });
});

test(
  "bank in network namespaces under iptables partitions, kill -9 and SIGSTOP",
  { skip: netnsSkip() },
  () =>
    withNetnsTarget(3, {}, async (t) => {
      const schedule = faultSchedule(13, ["partition-leader", "kill", "pause-leader"], 3, 9000, 3);
      assertBankRun(
        await runWorkload(t, new BankWorkload(), { seed: 13, durationMs: 9000, clients: 4, schedule }),
      );
    }),
);
