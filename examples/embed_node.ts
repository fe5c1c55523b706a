/**
 * Embedding ChiselStore in a Node program: a single-node cluster (no network), its data in a directory.
 *
 *   node examples/embed_node.ts              # data in a fresh temporary directory, removed at the end
 *   node examples/embed_node.ts ./data/embed # data kept in ./data/embed (run it twice: the rows add up)
 *
 * Add peers (`peers: [multiaddr, ...]`, `listen: [...]`) to make it one member of a replicated cluster; the
 * calls stay the same. See docs/api.md.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ChiselStore } from "../mod.ts";

const keep = process.argv[2];
const dataDir = keep ?? await mkdtemp(join(tmpdir(), "chiselstore-embed-"));
const node = await ChiselStore.start({ dataDir });
try {
  console.log(`node ${node.peerId} started, data in ${dataDir}`);
  await node.execute("CREATE TABLE IF NOT EXISTS fruit (id INTEGER PRIMARY KEY, name TEXT, price REAL)");
  // Positional and named parameters: values never go into the SQL text.
  await node.execute("INSERT INTO fruit (name, price) VALUES (?, ?)", ["apple", 0.5]);
  const r = await node.execute("INSERT INTO fruit (name, price) VALUES (:name, :price)", {
    name: "pear",
    price: 0.75,
  });
  console.log(`inserted at log index ${r.index}, last insert id ${r.results[0].lastInsertId}`);
  // Several statements as one atomic transaction.
  await node.execute(["UPDATE fruit SET price = price * 2", "DELETE FROM fruit WHERE price > 100"], {
    transaction: true,
  });
  const [rows] = await node.query("SELECT name, price FROM fruit WHERE price < ? ORDER BY id", [10], {
    consistency: "linearizable",
  });
  console.log(rows.columns?.join(" | "));
  for (const row of rows.values ?? []) console.log(row.join(" | "));
  console.log(`rows: ${rows.values?.length ?? 0}`);
} finally {
  await node.stop();
  if (keep === undefined) await rm(dataDir, { recursive: true, force: true });
}
console.log("stopped");
