/**
 * The largest database sql.js handles in this runtime: one sql.js database in this process grows by `step`
 * MiB of 1 MiB blobs at a time (SQLite writes real pages; nothing is compressed) up to `max` MiB, and after
 * every step `db.export()` (what a ChiselStore snapshot does) copies the whole file out. Prints one JSON line
 * per step and a final {"done": …} line; the first failure (insert or export) ends the probe.
 *
 * Run by bench/memory.ts in a child process so its memory does not mix with anything else:
 *   node bench/memory_probe.ts <max-mib> <step-mib>
 */
import process from "node:process";
import { loadSqlJs } from "../src/store/sqljs.ts";

export interface ProbeStep {
  dbMb: number;
  insertMs: number;
  exportMs: number | null;
  /** RSS after the export's copy was made (still referenced). */
  rssMb: number;
  error?: string;
}

async function main(): Promise<void> {
  const [maxMb, stepMb] = process.argv.slice(2).map(Number);
  if (!(maxMb > 0 && stepMb > 0)) throw new Error("usage: memory_probe.ts <max-mib> <step-mib>");
  const SQL = await loadSqlJs() as unknown as {
    Database: new () => {
      run(sql: string): void;
      exec(sql: string): { values: unknown[][] }[];
      export(): Uint8Array;
    };
  };
  const db = new SQL.Database();
  db.run("PRAGMA journal_mode = MEMORY; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  let largestExported = 0;
  let largest = 0;
  for (let target = stepMb; target <= maxMb; target += stepMb) {
    const step: ProbeStep = { dbMb: 0, insertMs: 0, exportMs: null, rssMb: 0 };
    try {
      const t0 = performance.now();
      db.run(
        `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${stepMb}) ` +
          "INSERT INTO t(v) SELECT zeroblob(1048576) FROM c",
      );
      step.insertMs = Math.round(performance.now() - t0);
      const size = Number(
        db.exec("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")[0]
          .values[0][0],
      );
      step.dbMb = mb(size);
      largest = step.dbMb;
      const t1 = performance.now();
      let copy: Uint8Array | undefined = db.export();
      step.exportMs = Math.round(performance.now() - t1);
      if (copy.byteLength !== size) throw new Error(`export returned ${copy.byteLength} bytes for ${size}`);
      step.rssMb = mb(process.memoryUsage().rss);
      copy = undefined;
      largestExported = step.dbMb;
    } catch (e) {
      step.error = (e as Error)?.message ?? String(e);
      step.rssMb = mb(process.memoryUsage().rss);
      console.log(JSON.stringify(step));
      break;
    }
    console.log(JSON.stringify(step));
  }
  console.log(JSON.stringify({ done: true, largestMb: largest, largestExportedMb: largestExported }));
}

if (import.meta.main) {
  main().catch((e) => {
    console.log(JSON.stringify({ done: true, fatal: (e as Error)?.message ?? String(e) }));
    process.exitCode = 1;
  });
}
