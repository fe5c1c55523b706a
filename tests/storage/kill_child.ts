/**
 * Child process for kill_test.ts: appends numbered entries to a FileStorage as fast as it can, syncing
 * after each write and printing the log length once it is synced, until it is killed with SIGKILL.
 * Usage: kill_child.ts <dataDir> <fsync mode>
 */
import process from "node:process";
import { FileStorage, type FsyncMode } from "../../src/storage/mod.ts";

const [dir, mode] = process.argv.slice(2);
const s = await FileStorage.open(dir, { fsync: mode as FsyncMode });
for (let n = s.getLogLen();;) {
  const entries = Array.from({ length: 1 + (n % 7) }, (_, k) => numbered(n + k));
  s.write([{ op: "append", entries }, { op: "setDecidedIdx", idx: n }]);
  n += entries.length;
  await s.sync();
  process.stdout.write(`${n}\n`);
}

function numbered(i: number): Uint8Array {
  const b = new Uint8Array(16 + (i % 50));
  new DataView(b.buffer).setUint32(0, i);
  return b;
}
