/**
 * The append-only set checker. Clients insert unique elements into a table without a unique constraint (so
 * a duplicate apply would show). After healing, on every replica: every acknowledged insert is present exactly
 * once; no element appears twice; nothing that was never attempted appears; a definitely failed insert is
 * absent; an indeterminate one may or may not be present, but the replicas agree; checksums are equal.
 */
import type { Outcome, Verdict } from "./workload.ts";
import { checksumProblems, countOutcomes, type FinalState } from "./workload.ts";

export interface InsertOp {
  kind: "insert";
  element: number;
  outcome: Outcome;
  invoke: number;
  complete: number;
  process: string;
}

/** Problems listed per kind are capped (a systematic failure would otherwise print thousands of lines). */
const MAX_LISTED = 10;

export function checkSet(history: readonly InsertOp[], finals: readonly FinalState<number[]>[]): Verdict {
  const t0 = performance.now();
  const problems: string[] = [];
  const attempts = new Map<number, InsertOp>();
  for (const op of history) {
    const earlier = attempts.get(op.element);
    if (earlier) {
      problems.push(
        `element ${op.element} was attempted twice (${earlier.process}, ${op.process}): the workload is broken`,
      );
    }
    attempts.set(op.element, op);
  }
  const note = (list: string[], what: string): void => {
    problems.push(...list.slice(0, MAX_LISTED));
    if (list.length > MAX_LISTED) problems.push(`... and ${list.length - MAX_LISTED} more ${what}`);
  };

  let presentIndeterminate = 0;
  for (const f of finals) {
    const counts = new Map<number, number>();
    for (const e of f.state) counts.set(e, (counts.get(e) ?? 0) + 1);
    const lost: string[] = [];
    const dup: string[] = [];
    const phantom: string[] = [];
    const revived: string[] = [];
    for (const op of history) {
      const n = counts.get(op.element) ?? 0;
      if (op.outcome === "ok" && n === 0) {
        lost.push(`${f.name}: acknowledged insert of ${op.element} by ${op.process} is missing`);
      }
      if (op.outcome === "fail" && n > 0) {
        revived.push(`${f.name}: failed insert of ${op.element} by ${op.process} is present`);
      }
    }
    for (const [e, n] of counts) {
      if (n > 1) dup.push(`${f.name}: element ${e} is present ${n} times`);
      if (!attempts.has(e)) phantom.push(`${f.name}: element ${e} was never inserted by anyone`);
      else if (attempts.get(e)!.outcome === "indeterminate" && f === finals[0]) presentIndeterminate++;
    }
    note(lost, "lost inserts");
    note(dup, "duplicates");
    note(phantom, "phantom elements");
    note(revived, "failed inserts present");
  }
  for (const f of finals.slice(1)) {
    const a = [...finals[0].state].sort((x, y) => x - y).join(",");
    const b = [...f.state].sort((x, y) => x - y).join(",");
    if (a !== b) {
      problems.push(
        `replicas disagree: ${finals[0].name} holds ${
          finals[0].state.length
        } elements, ${f.name} ${f.state.length}`,
      );
    }
  }
  problems.push(...checksumProblems(finals));
  return {
    result: problems.length > 0 ? "violation" : "ok",
    problems,
    figures: { ops: history.length, ...countOutcomes(history), indeterminatePresent: presentIndeterminate },
    checkMs: performance.now() - t0,
  };
}
