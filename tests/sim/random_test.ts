/**
 * Randomized simulation over many seeds (SIM_SEEDS, default 300; SIM_FROM to shift the range).
 * A failure names its seed; replay it with `npm run sim -- --seed N --verbose`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { runSeed } from "./random_run.ts";

const count = Number(process.env.SIM_SEEDS ?? 300);
const from = Number(process.env.SIM_FROM ?? 1);

test(`randomized simulation: ${count} seeds keep safety and recover after healing`, () => {
  const failures: string[] = [];
  let decided = 0;
  let reads = 0;
  for (let s = from; s < from + count; s++) {
    try {
      const res = runSeed(s);
      decided += res.decided;
      reads += res.reads;
    } catch (e) {
      failures.push(`seed ${s}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  assert.deepEqual(failures, [], `replay with: npm run sim -- --seed N --verbose\n${failures.join("\n")}`);
  assert.ok(reads > count, `too few linearizable reads were confirmed and checked (${reads})`);
  assert.ok(decided > count * 20, `runs decided too little (${decided} entries over ${count} seeds)`);
});
