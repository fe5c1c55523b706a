/** RSS and CPU time of a process from /proc/<pid>/stat and /proc/<pid>/status (Linux only). */
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import process from "node:process";

export interface ProcSample {
  /** User + system CPU time so far, in seconds. */
  cpuS: number;
  /** Resident set size now (VmRSS), in KiB. */
  rssKb: number;
  /** Peak resident set size (VmHWM), in KiB. */
  peakRssKb: number;
}

/** Whether /proc can be read on this platform. */
export function procSupported(): boolean {
  return process.platform === "linux";
}

let clockTicks: number | undefined;

/** Clock ticks per second (the unit of utime/stime): `getconf CLK_TCK`, 100 if that fails. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
      clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime (fields 14 and 15 of /proc/<pid>/stat) in seconds. */
export function parseStatCpu(stat: string, ticks: number): number {
  // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error("unexpected /proc/<pid>/stat format");
  }
  return (utime + stime) / ticks;
}

/** A `Key:   123 kB` value of /proc/<pid>/status, in KiB. */
export function parseStatusKb(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(status);
  if (!m) throw new Error(`no ${key} in /proc/<pid>/status`);
  return Number(m[1]);
}

/** The process's CPU time and memory now. */
export async function sampleProcess(pid: number): Promise<ProcSample> {
  const [stat, status] = await Promise.all([
    readFile(`/proc/${pid}/stat`, "utf8"),
    readFile(`/proc/${pid}/status`, "utf8"),
  ]);
  return {
    cpuS: parseStatCpu(stat, ticksPerSecond()),
    rssKb: parseStatusKb(status, "VmRSS"),
    peakRssKb: parseStatusKb(status, "VmHWM"),
  };
}
