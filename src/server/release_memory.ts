/**
 * A full garbage collection on demand, run after a large snapshot was written (issue 7, memory). Each snapshot
 * is a whole copy of the database (`db.export()`), dropped once its file is written; V8 frees such large
 * buffers only at a major collection, which a node that has gone quiet may not run for a long time, so the
 * dropped copies stayed in the RSS (docs/performance.md, "Memory"). Node and Deno both expose V8's `gc` in a
 * new context once `--expose-gc` is set at run time; where that fails, `collectGarbage` does nothing.
 */
import v8 from "node:v8";
import vm from "node:vm";

let gcFn: (() => void) | undefined | null = null; // null: not looked up yet
let runs = 0;

function gcFunction(): (() => void) | undefined {
  if (gcFn !== null) return gcFn;
  try {
    v8.setFlagsFromString("--expose-gc");
    const f = vm.runInNewContext("gc") as unknown;
    gcFn = typeof f === "function" ? f as () => void : undefined;
  } catch {
    gcFn = undefined;
  }
  return gcFn;
}

/** Runs a full collection; false when this runtime offers none. */
export function collectGarbage(): boolean {
  const gc = gcFunction();
  if (!gc) return false;
  gc();
  runs++;
  return true;
}

/** How many collections `collectGarbage` has run in this process (for tests and status). */
export function garbageCollections(): number {
  return runs;
}
