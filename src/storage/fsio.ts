/** Small promise wrappers over node:fs file descriptors (works on Node and Deno). */
import fs from "node:fs";

export function writeAt(fd: number, data: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number): void => {
      if (off >= data.length) return resolve();
      fs.write(fd, data, off, data.length - off, position + off, (err, n) => {
        if (err) reject(err);
        else step(off + n);
      });
    };
    step(0);
  });
}

/**
 * Writes all of `data` at `position` without leaving the event loop. For the log's small appends: a
 * write into the page cache takes microseconds, while the async form costs two thread-pool hand-offs
 * (one round trip through libuv's pool, then a wake-up of this thread), which on a busy machine are
 * most of a commit's latency. fsync, which does wait for the disk, stays asynchronous.
 */
export function writeAtSync(fd: number, data: Uint8Array, position: number): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off, position + off);
}

export function fsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

export function ftruncate(fd: number, len: number): Promise<void> {
  return new Promise((resolve, reject) => fs.ftruncate(fd, len, (err) => (err ? reject(err) : resolve())));
}

export function close(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

/** Makes renames and creations in `dir` durable (POSIX: a file's fsync does not cover its directory entry). */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = fs.openSync(dir, "r");
  try {
    await fsync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes `parts` to `path` so that a reader sees either the old file or the whole new one: write a temp
 * file, fsync it, rename over `path`, fsync the directory. `durable: false` skips both fsyncs (the rename is
 * still atomic against process crashes, not against power loss).
 */
export async function writeFileAtomic(
  dir: string,
  name: string,
  parts: readonly Uint8Array[],
  durable: boolean,
): Promise<void> {
  const tmp = `${dir}/${name}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    let at = 0;
    for (const p of parts) {
      await writeAt(fd, p, at);
      at += p.length;
    }
    if (durable) await fsync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, `${dir}/${name}`);
  if (durable) await fsyncDir(dir);
}
