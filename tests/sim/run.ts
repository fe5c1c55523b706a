/**
 * Replay or sweep randomized simulation runs:
 *   npm run sim -- --seed 42 [--verbose]      one run, with its event log
 *   npm run sim -- --from 1 --count 1000      a sweep; prints the failing seeds
 */
import { runSeed } from "./random_run.ts";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const verbose = args.includes("--verbose");
const seed = flag("seed");
if (seed !== undefined) {
  const res = runSeed(Number(seed), { log: verbose ? (s) => console.log(s) : undefined });
  console.log(JSON.stringify(res));
} else {
  const from = Number(flag("from") ?? 1);
  const count = Number(flag("count") ?? 200);
  const failed: number[] = [];
  const t0 = performance.now();
  for (let s = from; s < from + count; s++) {
    try {
      runSeed(s);
    } catch (e) {
      failed.push(s);
      console.log(`seed ${s} FAILED: ${(e as Error).message}`);
    }
  }
  console.log(
    `${count - failed.length} passed, ${failed.length} failed (${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s)`,
  );
  if (failed.length > 0) {
    console.log(`replay one with: npm run sim -- --seed ${failed[0]} --verbose`);
    process.exitCode = 1;
  }
}
