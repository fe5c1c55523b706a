/**
 * Child processes of the comparison (etcd members, dqlite-benchmark nodes): output kept for error reports,
 * SIGTERM then SIGKILL on stop, and every one still running killed if this process exits early.
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";

const OUTPUT_KEEP = 8_192;
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

export class Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (-1 for a death by signal or a spawn error). */
  readonly exited: Promise<number>;
  output = "";

  constructor(name: string, cmd: string, args: string[], opts: { cwd?: string } = {}) {
    hookExit();
    this.name = name;
    this.child = spawn(cmd, args, { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    everyChild.add(this.child);
    const keep = (d: string) => {
      this.output = (this.output + d).slice(-OUTPUT_KEEP);
    };
    this.child.stdout!.setEncoding("utf8").on("data", keep);
    this.child.stderr!.setEncoding("utf8").on("data", keep);
    this.exited = new Promise((resolve) => {
      this.child.on("error", (e) => {
        keep(`spawn error: ${e.message}\n`);
        everyChild.delete(this.child);
        resolve(-1);
      });
      this.child.on("close", (code) => {
        everyChild.delete(this.child);
        resolve(code ?? -1);
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && everyChild.has(this.child);
  }

  /** The last `lines` lines of output, labelled. */
  tail(lines = 8): string {
    return `--- ${this.name} ---\n${this.output.trimEnd().split("\n").slice(-lines).join("\n")}`;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running || this.child.pid === undefined) {
      await this.exited;
      return;
    }
    const pid = this.child.pid;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
