/**
 * The durability contract against a real crash: a child process appends and syncs until it is killed
 * with SIGKILL at an arbitrary moment; reopening must hold at least everything it reported synced,
 * as a clean prefix of what it wrote (no torn or garbage entries), and take over its stale lock.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { FileStorage } from "../../src/storage/mod.ts";
import { withDir } from "./helpers.ts";

// Deno type-checks with tsconfig's lib (no Deno or DOM types), where ImportMeta lacks `url`.
const CHILD = fileURLToPath(new URL("./kill_child.ts", (import.meta as { url: string }).url));

/** Runs the child until it reports a synced log length ≥ `atLeast`, kills it; returns the last report. */
function runAndKill(dir: string, mode: string, atLeast: number): Promise<number> {
  const args = process.versions.deno ? ["run", "--allow-all", CHILD, dir, mode] : [CHILD, dir, mode];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  let reported = 0;
  let buf = "";
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      if (lines.length > 0) reported = Number(lines.at(-1));
      if (reported >= atLeast && child.exitCode === null && !child.killed) child.kill("SIGKILL");
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve(reported);
      else reject(new Error(`child exited with ${code} before it was killed`));
    });
  });
}

for (const mode of ["always", "batch"]) {
  test(`kill -9 while writing (fsync ${mode}): every synced write survives, as a clean prefix`, async () => {
    await withDir(async (dir) => {
      let target = 0;
      for (let round = 0; round < 3; round++) {
        target += 200;
        const reported = await runAndKill(dir, mode, target);
        const s = await FileStorage.open(dir);
        const len = s.getLogLen();
        assert.ok(
          len >= reported,
          `round ${round}: ${len} entries on disk, ${reported} were reported synced`,
        );
        assert.equal(s.recoveryReport.brokeStaleLock, true, "the dead child's lock is taken over");
        s.getEntries(0, len).forEach((e, i) => {
          assert.equal(new DataView(e.buffer, e.byteOffset).getUint32(0), i, `entry ${i}`);
          assert.equal(e.length, 16 + (i % 50), `entry ${i} length`);
        });
        await s.close();
      }
    });
  });
}
