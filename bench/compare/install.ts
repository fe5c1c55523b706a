/**
 * Makes sure the other systems are installed: Debian's `etcd-server` (/usr/bin/etcd) and `go-dqlite`
 * (/usr/bin/dqlite-benchmark), installed with apt-get when missing. apt-get needs root; without it the
 * error says what to install.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";
import { DQLITE_BIN } from "./dqlite.ts";
import { ETCD_BIN } from "./etcd.ts";

const PACKAGES: [string, string][] = [[ETCD_BIN, "etcd-server"], [DQLITE_BIN, "go-dqlite"]];

/** The Debian packages whose binary is missing. */
export function missingPackages(exists: (path: string) => boolean = existsSync): string[] {
  return PACKAGES.filter(([bin]) => !exists(bin)).map(([, pkg]) => pkg);
}

export function ensureInstalled(log: (line: string) => void): void {
  const missing = missingPackages();
  if (missing.length === 0) return;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (!root) {
    throw new Error(`missing ${missing.join(", ")}: run 'apt-get install ${missing.join(" ")}' as root`);
  }
  log(`installing ${missing.join(", ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const run = (args: string[]) => {
    const r = spawnSync("apt-get", args, { env, stdio: ["ignore", "inherit", "inherit"] });
    return r.status === 0;
  };
  if (!run(["install", "-y", "--no-install-recommends", ...missing])) {
    // A stale package index is the usual cause: refresh it once and retry.
    if (!run(["update"]) || !run(["install", "-y", "--no-install-recommends", ...missing])) {
      throw new Error(`apt-get install ${missing.join(" ")} failed`);
    }
  }
  const still = missingPackages();
  if (still.length > 0) throw new Error(`still missing after apt-get: ${still.join(", ")}`);
}
