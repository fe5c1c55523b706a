/**
 * The append-only set workload: its checker rejects hand-made violations (a lost acknowledged insert, a
 * duplicate, a phantom element, a failed insert present, diverging replicas), and real clusters pass it under
 * partitions, node stops, kill -9 and SIGSTOP.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkSet, type InsertOp } from "./workloads/set_check.ts";
import { SetWorkload } from "./workloads/set.ts";
import { InProcessTarget } from "./workloads/inprocess.ts";
import { ProcTarget } from "./workloads/proc.ts";
import { netnsSkip, withNetnsTarget } from "./workloads/netns.ts";
import { faultSchedule, type RunReport, runWorkload } from "./workloads/run.ts";
import type { FinalState, Verdict } from "./workloads/workload.ts";

const sum = { index: 3, sha256: "ab".repeat(32) };
let clock = 0;
const insert = (element: number, outcome: InsertOp["outcome"] = "ok"): InsertOp => ({
  kind: "insert",
  element,
  outcome,
  invoke: clock++,
  complete: clock++,
  process: "c",
});
const finals = (...states: number[][]): FinalState<number[]>[] =>
  states.map((state, i) => ({ name: `n${i}`, checksum: sum, state }));
const problems = (v: Verdict): string => v.problems.join("\n");
const history = [
  insert(1),
  insert(2),
  insert(3, "indeterminate"),
  insert(4, "fail"),
  insert(5, "indeterminate"),
];

test("set checker: acknowledged inserts everywhere, indeterminate ones either way, passes", () => {
  const v = checkSet(history, finals([1, 2, 3], [2, 3, 1]));
  assert.equal(v.result, "ok", problems(v));
  assert.equal(v.figures.indeterminatePresent, 1);
  assert.equal(checkSet(history, finals([1, 2], [1, 2])).result, "ok");
});

test("set checker: a lost acknowledged insert is a violation", () => {
  const v = checkSet(history, finals([1, 2], [1]));
  assert.equal(v.result, "violation");
  assert.match(problems(v), /n1: acknowledged insert of 2 by c is missing/);
});

test("set checker: a duplicate is a violation", () => {
  const v = checkSet(history, finals([1, 2, 2], [1, 2, 2]));
  assert.equal(v.result, "violation");
  assert.match(problems(v), /element 2 is present 2 times/);
});

test("set checker: an element never inserted, or a failed insert present, is a violation", () => {
  const v = checkSet(history, finals([1, 2, 9], [1, 2, 9]));
  assert.match(problems(v), /element 9 was never inserted/);
  const w = checkSet(history, finals([1, 2, 4], [1, 2, 4]));
  assert.match(problems(w), /failed insert of 4 by c is present/);
});

test("set checker: replicas that disagree on an indeterminate insert, or differ in checksum, are a violation", () => {
  const v = checkSet(history, finals([1, 2, 3], [1, 2]));
  assert.equal(v.result, "violation");
  assert.match(problems(v), /replicas disagree/);
  const f = finals([1, 2], [1, 2]);
  f[1].checksum = { index: 4, sha256: sum.sha256 };
  assert.match(problems(checkSet(history, f)), /checksums differ/);
});

function assertSetRun(r: RunReport): void {
  console.log(
    "set figures:",
    JSON.stringify({
      target: r.target,
      faults: r.faults,
      ...r.verdict.figures,
      checkMs: Math.round(r.verdict.checkMs),
    }),
  );
  assert.equal(r.verdict.result, "ok", problems(r.verdict));
  assert.ok((r.verdict.figures["insert:ok"] ?? 0) >= 20, JSON.stringify(r.verdict.figures));
  assert.ok(r.faults.length >= 2 * r.schedule.length, r.faults.join("; "));
}

test("set on an in-process cluster under partitions and node stops", async () => {
  const t = await InProcessTarget.start(3);
  try {
    const schedule = faultSchedule(21, ["partition-leader", "kill-leader", "partition"], 3, 6000, 3);
    assertSetRun(
      await runWorkload(t, new SetWorkload(), { seed: 21, durationMs: 6000, clients: 5, schedule }),
    );
  } finally {
    await t.stop();
  }
});

test("set on real processes under kill -9 and SIGSTOP", async () => {
  await ProcTarget.with(3, {}, async (t) => {
    const schedule = faultSchedule(22, ["kill-leader", "pause-leader"], 3, 8000, 2);
    assertSetRun(
      await runWorkload(t, new SetWorkload(), { seed: 22, durationMs: 8000, clients: 4, schedule }),
    );
  });
});

test(
  "set in network namespaces under iptables partitions, kill -9 and SIGSTOP",
  { skip: netnsSkip() },
  () =>
    withNetnsTarget(3, {}, async (t) => {
      const schedule = faultSchedule(23, ["partition-leader", "kill-leader", "pause"], 3, 9000, 3);
      assertSetRun(
        await runWorkload(t, new SetWorkload(), { seed: 23, durationMs: 9000, clients: 4, schedule }),
      );
    }),
);
