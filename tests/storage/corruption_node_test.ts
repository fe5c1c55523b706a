/**
 * ChiselStore.start on a damaged data directory: a torn tail (bytes after the last fsync) is dropped and
 * every acknowledged write is still there; damage to fsynced data — a record in the middle of the log, a
 * deleted or empty segment, a damaged snapshot — refuses to start, with an error naming the file and the
 * offset or problem, and leaves the directory untouched so a repaired one starts again.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { IdentityError, KEY_FILE } from "../../src/net/identity.ts";
import { ChiselStore } from "../../src/server/node.ts";
import { StorageCorruptionError } from "../../src/storage/mod.ts";
import { parseRecord, SEGMENT_MAGIC } from "../../src/storage/record.ts";
import { withDir } from "./helpers.ts";

const ROWS = 30;
const opts = { fsync: "always", tickMs: 5, electionTicks: 4, snapshotEntries: 20 } as const;

async function count(dir: string, log?: (level: string, message: string) => void): Promise<number> {
  const node = await ChiselStore.start({ ...opts, dataDir: dir, ...(log ? { log } : {}) });
  try {
    const [r] = await node.query("SELECT count(*), sum(id) FROM t", { consistency: "strong" });
    assert.equal(r.values?.[0]?.[1], (ROWS * (ROWS + 1)) / 2, "the acknowledged rows themselves");
    return r.values?.[0]?.[0] as number;
  } finally {
    await node.stop();
  }
}

function only(dir: string, ext: string): string {
  const names = fs.readdirSync(dir).filter((n) => n.endsWith(ext));
  assert.equal(names.length, 1, `one ${ext} in ${dir}: ${names}`);
  return `${dir}/${names[0]}`;
}

test("a node on a damaged data directory: torn tail dropped, fsynced damage refused by name", async () => {
  await withDir(async (root) => {
    const pristine = `${root}/pristine`;
    const node = await ChiselStore.start({ ...opts, dataDir: pristine });
    await node.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    // Each write is acknowledged, so fsynced; 20 entries in, a snapshot file and a new segment start.
    for (let i = 1; i <= ROWS; i++) {
      await node.execute({ sql: "INSERT INTO t VALUES (?, ?)", params: [i, `v${i}`] });
    }
    await node.stop();
    const logDir = `${pristine}/raft-log/log`;
    const wal = only(logDir, ".wal").slice(pristine.length);
    const snap = only(`${pristine}/raft-log/snapshots`, ".snap").slice(pristine.length);
    const buf = fs.readFileSync(`${pristine}${wal}`);
    const first = parseRecord(buf, SEGMENT_MAGIC.length);
    assert.ok(typeof first !== "string");
    const second = parseRecord(buf, first.end);
    assert.ok(typeof second !== "string" && second.end < buf.length, "batch records after the checkpoint");

    let run = 0;
    /** A fresh copy of the pristine directory with `damage` applied; returns its path. */
    const damaged = (damage: (dir: string) => void) => {
      const dir = `${root}/case${run++}`;
      fs.cpSync(pristine, dir, { recursive: true });
      damage(dir);
      return dir;
    };
    const refused = async (dir: string, file: string, reason: string, detail: RegExp) => {
      await assert.rejects(ChiselStore.start({ ...opts, dataDir: dir }), (e: unknown) => {
        assert.ok(e instanceof StorageCorruptionError, String(e));
        assert.equal(e.reason, reason);
        assert.equal(e.file, `${dir}${file}`);
        assert.match(e.message, detail);
        return true;
      });
    };

    // A torn tail: half a record after the last fsync. Dropped; every acknowledged row is there.
    const torn = damaged((d) => fs.appendFileSync(`${d}${wal}`, buf.subarray(second.offset, second.end - 3)));
    const warnings: string[] = [];
    assert.equal(await count(torn, (level, m) => level === "warn" && warnings.push(m)), ROWS);
    // The operator is told what was cut, and where.
    assert.ok(
      warnings.some((w) => w.includes("torn tail") && w.includes(`at offset ${buf.length}`)),
      `${warnings}`,
    );

    // A flipped byte in a fsynced record in the middle of the log: refused, file and offset named.
    const middle = damaged((d) => {
      const b = Buffer.from(buf);
      b[second.offset + 20] ^= 0x40;
      fs.writeFileSync(`${d}${wal}`, b);
    });
    await refused(middle, wal, "bad-record", new RegExp(`at byte ${second.offset}: bad-record`));
    // Nothing was changed by the refusal: repaired, it starts with every row.
    fs.writeFileSync(`${middle}${wal}`, buf);
    assert.equal(await count(middle), ROWS);

    await refused(damaged((d) => fs.rmSync(`${d}${wal}`)), "/raft-log/log", "missing-segment", /no segment/);
    await refused(damaged((d) => fs.truncateSync(`${d}${wal}`, 0)), wal, "bad-magic", /at byte 0: bad-magic/);
    await refused(
      damaged((d) => fs.rmSync(`${d}/raft-log/log`, { recursive: true })),
      "/raft-log/log",
      "missing-segment",
      /log was lost/,
    );
    await refused(
      damaged((d) => fs.truncateSync(`${d}${snap}`, 100)),
      snap,
      "bad-snapshot",
      /\.snap at byte \d+: bad-snapshot/,
    );
    await refused(damaged((d) => fs.rmSync(`${d}${snap}`)), snap, "missing-snapshot", /missing-snapshot/);
    // Not storage, but the same directory: an emptied identity key is refused by name too.
    const noKey = damaged((d) => fs.truncateSync(`${d}/${KEY_FILE}`, 0));
    await assert.rejects(ChiselStore.start({ ...opts, dataDir: noKey }), (e: unknown) => {
      assert.ok(e instanceof IdentityError && e.message.includes(`${noKey}/${KEY_FILE}`), String(e));
      return true;
    });
    // A deleted key next to a log: refused, instead of coming back as a stranger holding the old promises.
    const lostKey = damaged((d) => fs.rmSync(`${d}/${KEY_FILE}`));
    await assert.rejects(ChiselStore.start({ ...opts, dataDir: lostKey }), /node\.key is missing .*raft-log/);
    assert.ok(!fs.existsSync(`${lostKey}/${KEY_FILE}`), "no new identity minted");
    // A garbled cluster.json is refused by name (it is written once a membership change happened).
    const badConfig = damaged((d) => fs.writeFileSync(`${d}/cluster.json`, "{ not json"));
    await assert.rejects(ChiselStore.start({ ...opts, dataDir: badConfig }), (e: unknown) => {
      assert.ok((e as Error).message.includes(`${badConfig}/cluster.json is not valid JSON`), String(e));
      return true;
    });
    const nullConfig = damaged((d) => fs.writeFileSync(`${d}/cluster.json`, "null"));
    await assert.rejects(
      ChiselStore.start({ ...opts, dataDir: nullConfig }),
      /cluster\.json is not a valid cluster/,
    );
    assert.equal(await count(pristine), ROWS, "the original still starts");
  });
});
