/**
 * Child processes of the comparison (etcd members, dqlite-benchmark nodes): output kept for error reports,
 * SIGTERM then SIGKILL on stop, and every one still running killed if this process exits early.
 */
import type { ChildProcess } from "node:child_process";
import process from "node:process";
import { spawnTracked } from "../../src/cli/bench/children.ts";

const OUTPUT_KEEP = 8_192;
export class Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (-1 for a death by signal or a spawn error). */
  readonly exited: Promise<number>;
  output = "";

  #closed = false;

  constructor(name: string, cmd: string, args: string[], opts: { cwd?: string } = {}) {
    this.name = name;
    const t = spawnTracked(cmd, args, { cwd: opts.cwd }, (d) => {
      this.output = (this.output + d).slice(-OUTPUT_KEEP);
    });
    this.child = t.child;
    this.exited = t.exited.then((code) => {
      this.#closed = true;
      return code;
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && !this.#closed;
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
