/**
 * Child processes of the benchmarks (cluster nodes, etcd members, dqlite-benchmark nodes): spawned with their
 * output handed to the caller, and SIGKILLed should this process exit without stopping them, so a failed or
 * interrupted run leaves nothing behind.
 */
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import process from "node:process";

const everyChild = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const c of everyChild) {
      if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
        try {
          process.kill(c.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  });
}

export interface Tracked {
  child: ChildProcess;
  /** Resolves with the exit code (-1 for a death by signal or a spawn error). */
  exited: Promise<number>;
}

/** Spawns `cmd` with piped output; `keep` receives stdout, stderr and a spawn error as text. */
export function spawnTracked(
  cmd: string,
  args: string[],
  opts: Omit<SpawnOptions, "stdio">,
  keep: (text: string) => void,
): Tracked {
  hookExit();
  const child = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
  everyChild.add(child);
  child.stdout!.setEncoding("utf8").on("data", keep);
  child.stderr!.setEncoding("utf8").on("data", keep);
  const exited = new Promise<number>((resolve) => {
    child.on("error", (e) => {
      keep(`spawn error: ${e.message}\n`);
      everyChild.delete(child);
      resolve(-1);
    });
    child.on("close", (code) => {
      everyChild.delete(child);
      resolve(code ?? -1);
    });
  });
  return { child, exited };
}
