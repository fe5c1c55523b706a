/**
 * Embedding ChiselStore in a Deno program: a single-node cluster (no network), its data in a directory.
 *
 *   deno run --allow-all examples/embed_deno.ts              # a fresh temporary directory, removed at the end
 *   deno run --allow-all examples/embed_deno.ts ./data/embed # data kept in ./data/embed
 *
 * The same API as under Node (examples/embed_node.ts); here with Deno's own file and argument APIs.
 */
import { ChiselStore } from "../mod.ts";

const keep = Deno.args[0];
const dataDir = keep ?? await Deno.makeTempDir({ prefix: "chiselstore-embed-" });
const node = await ChiselStore.start({ dataDir });
try {
  console.log(`node ${node.peerId} started on Deno ${Deno.version.deno}, data in ${dataDir}`);
  await node.execute("CREATE TABLE IF NOT EXISTS visits (id INTEGER PRIMARY KEY, path TEXT, at INTEGER)");
  for (const path of ["/", "/docs", "/"]) {
    await node.execute("INSERT INTO visits (path, at) VALUES (?, ?)", [path, Date.now()]);
  }
  const [r] = await node.query(
    "SELECT path, count(*) AS n FROM visits GROUP BY path ORDER BY n DESC, path",
    [],
    { consistency: "linearizable" },
  );
  console.log(r.columns?.join(" | "));
  for (const row of r.values ?? []) console.log(row.join(" | "));
  const sum = await node.checksum();
  console.log(`database checksum at index ${sum.index}: ${sum.sha256.slice(0, 16)}…`);
} finally {
  await node.stop();
  if (keep === undefined) await Deno.remove(dataDir, { recursive: true });
}
console.log("stopped");
