/**
 * The data directory's lock: <dataDir>/LOCK holds the owner's pid, created with O_EXCL. A lock whose pid is
 * no longer alive (the owner crashed) is taken over. Two FileStorages in one process collide too (the pid
 * is alive). Breaking a stale lock races if two processes do it at the same instant; good enough to catch
 * the real mistake: starting a second node on the same directory.
 */
import fs from "node:fs";
import process from "node:process";
import { StorageLockedError } from "./errors.ts";

/** Whether process `pid` exists (signal 0; EPERM: it exists but is another user's). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/** Takes the lock; returns whether a stale lock (from a crashed owner) was broken. */
export function acquireLock(path: string): { brokeStale: boolean } {
  let brokeStale = false;
  for (;;) {
    try {
      const fd = fs.openSync(path, "wx");
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return { brokeStale };
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST" || brokeStale) throw e;
    }
    const pid = Number.parseInt(fs.readFileSync(path, "utf8"), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && alive(pid)) throw new StorageLockedError(path, pid);
    fs.rmSync(path, { force: true });
    brokeStale = true;
  }
}

export function releaseLock(path: string): void {
  try {
    if (Number.parseInt(fs.readFileSync(path, "utf8"), 10) === process.pid) fs.rmSync(path, { force: true });
  } catch {
    // Already gone: nothing to release.
  }
}
