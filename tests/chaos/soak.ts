/**
 * The chaos soak: `npm run chaos:soak -- --minutes 10 --seed 7 --out <dir>`. Runs rounds until the time is
 * up; each round starts a fresh 3-node cluster, runs one workload (register, bank, set in turn) while a seeded
 * schedule of faults is injected and healed, then checks it. Targets: network namespaces when root (iptables
 * partitions, kill -9, SIGSTOP), real processes (kill -9, SIGSTOP) and in-process nodes (partitions, stops).
 * Round r's plan (workload, target, length, clients, fault schedule, op seeds) depends only on the seed and r.
 * Writes <out>/soak.json and <out>/soak.md (plus the history of any failed round); exits 1 on any violation
 * or round error, 2 on bad arguments.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { BankWorkload } from "./workloads/bank.ts";
import { InProcessTarget } from "./workloads/inprocess.ts";
import { netnsSkip, withNetnsTarget } from "./workloads/netns.ts";
import { ProcTarget } from "./workloads/proc.ts";
import { RegisterWorkload } from "./workloads/register.ts";
import { type RunReport, runWorkload } from "./workloads/run.ts";
import { SetWorkload } from "./workloads/set.ts";
import type { Target } from "./workloads/target.ts";
import type { Workload } from "./workloads/workload.ts";
import { type Options, parseSoakArgs, type Plan, plan, type TargetName } from "./soak_plan.ts";

function workload(name: Plan["workload"]): Workload {
  if (name === "register") return new RegisterWorkload();
  return name === "bank" ? new BankWorkload() : new SetWorkload();
}

async function onTarget<T>(name: TargetName, fn: (t: Target) => Promise<T>): Promise<T> {
  if (name === "netns") return await withNetnsTarget(3, {}, fn);
  if (name === "processes") return await ProcTarget.with(3, {}, fn);
  const t = await InProcessTarget.start(3);
  try {
    return await fn(t);
  } finally {
    await t.stop();
  }
}

interface RoundResult {
  plan: Plan;
  report?: RunReport;
  /** The round could not finish (setup, convergence after healing, a harness failure). */
  error?: string;
}

function summary(opts: Options, targets: TargetName[], results: RoundResult[], elapsedMs: number): string {
  const lines = [
    `# Chaos soak: seed ${opts.seed}, ${opts.minutes} min`,
    "",
    `Targets: ${targets.join(", ")}. Rounds: ${results.length}. Wall time: ${
      (elapsedMs / 60_000).toFixed(1)
    } min.`,
    "",
    "| round | workload | target | ops | ok | fail | indet. | faults injected | verdict | check ms |",
    "| ----: | -------- | ------ | --: | -: | ---: | -----: | --------------- | ------- | -------: |",
  ];
  for (const r of results) {
    const v = r.report?.verdict;
    const by = (o: string): number =>
      Object.entries(v?.figures ?? {}).filter(([k]) => k.endsWith(`:${o}`)).reduce((a, [, n]) => a + n, 0);
    const faults = r.report?.faults.filter((f) => !f.endsWith(" heal")).map((f) => f.replace(/^\S+ /, "")) ??
      [];
    lines.push(
      `| ${r.plan.round} | ${r.plan.workload} | ${r.plan.target} | ${v?.figures.ops ?? "-"} | ${
        by("ok")
      } | ` +
        `${by("fail")} | ${by("indeterminate")} | ${faults.join("; ")} | ${
          r.error ? "ERROR" : v!.result
        } | ` +
        `${v ? Math.round(v.checkMs) : "-"} |`,
    );
  }
  const bad = results.filter((r) => r.error || r.report?.verdict.result === "violation");
  lines.push("", bad.length === 0 ? "No violations." : `**${bad.length} failed round(s):**`);
  for (const r of bad) {
    lines.push("", `Round ${r.plan.round} (${r.plan.workload} on ${r.plan.target}):`, "");
    for (const p of r.error ? [r.error] : r.report!.verdict.problems) {
      lines.push(`    ${p.split("\n").join("\n    ")}`);
    }
  }
  return lines.join("\n") + "\n";
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseSoakArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`chaos:soak: ${(e as Error).message}`);
    return 2;
  }
  const skip = netnsSkip();
  const targets: TargetName[] = opts.targets ??
    (skip ? ["processes", "in-process"] : ["netns", "processes", "in-process"]);
  if (targets.includes("netns") && skip) {
    console.error(`chaos:soak: the netns target is unavailable: ${skip}`);
    return 2;
  }
  try {
    await mkdir(opts.out, { recursive: true });
  } catch (e) {
    console.error(`chaos:soak: cannot create the output directory ${opts.out}: ${(e as Error).message}`);
    return 2;
  }
  const log = (s: string): void => void process.stderr.write(s + "\n");
  log(`chaos soak: seed ${opts.seed}, ${opts.minutes} min, targets ${targets.join(", ")}, out ${opts.out}`);
  const t0 = performance.now();
  const results: RoundResult[] = [];
  for (let round = 0; performance.now() - t0 < opts.minutes * 60_000; round++) {
    const p = plan(opts.seed, round, targets);
    log(
      `round ${round}: ${p.workload} on ${p.target}, ${
        p.durationMs / 1000
      } s, ${p.clients} clients, ${p.schedule.length} faults`,
    );
    const w = workload(p.workload);
    const result: RoundResult = { plan: p };
    try {
      result.report = await onTarget(
        p.target,
        (t) =>
          runWorkload(t, w, {
            seed: p.seed,
            durationMs: p.durationMs,
            clients: p.clients,
            schedule: p.schedule,
            log,
          }),
      );
      const v = result.report.verdict;
      log(`  ${v.result}: ${JSON.stringify(v.figures)}, checked in ${Math.round(v.checkMs)} ms`);
      for (const problem of v.problems) log(`  ${problem}`);
    } catch (e) {
      result.error = (e as Error).stack ?? String(e);
      log(`  ERROR: ${result.error.split("\n").slice(0, 20).join("\n  ")}`);
    }
    if (result.error || result.report?.verdict.result === "violation") {
      await writeFile(join(opts.out, `round-${round}-history.json`), JSON.stringify(w.history));
    }
    results.push(result);
  }
  const elapsedMs = performance.now() - t0;
  const totals = {
    rounds: results.length,
    ops: 0,
    faults: 0,
    checkMs: 0,
    verdicts: {} as Record<string, number>,
  };
  for (const r of results) {
    const key = r.error ? "error" : r.report!.verdict.result;
    totals.verdicts[key] = (totals.verdicts[key] ?? 0) + 1;
    totals.ops += r.report?.verdict.figures.ops ?? 0;
    totals.faults += r.report?.faults.filter((f) => !f.endsWith(" heal")).length ?? 0;
    totals.checkMs += r.report?.verdict.checkMs ?? 0;
  }
  const report = {
    seed: opts.seed,
    minutes: opts.minutes,
    targets,
    elapsedMs: Math.round(elapsedMs),
    totals,
    rounds: results,
  };
  await writeFile(join(opts.out, "soak.json"), JSON.stringify(report, null, 2) + "\n");
  await writeFile(join(opts.out, "soak.md"), summary(opts, targets, results, elapsedMs));
  log(`done: ${JSON.stringify(totals)}; report in ${opts.out}/soak.md and soak.json`);
  return (totals.verdicts.violation ?? 0) + (totals.verdicts.error ?? 0) > 0 ? 1 : 0;
}

process.exitCode = await main();
