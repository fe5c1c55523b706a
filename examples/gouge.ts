/**
 * gouge: the demo client for examples/gouged.ts. Sends SQL to one demo node over HTTP and prints the
 * results, one line per row (values separated by " | ").
 *
 *   node examples/gouge.ts "CREATE TABLE t (x)" "INSERT INTO t VALUES (1)" "SELECT * FROM t"
 *   echo "SELECT * FROM t" | node examples/gouge.ts --node 3
 *   node examples/gouge.ts --status --node 2
 *
 * Like the original, each line (or argument) is one statement; lines starting with SELECT are read from
 * the node's own copy ("relaxed"), everything else goes through the leader and the log ("strong").
 * --consistency forces one level for every statement. Exit code 1 when any statement failed.
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { httpUrl } from "./demo_ids.ts";

interface Reply {
  node?: number;
  index?: number;
  results?: { columns?: string[]; values?: unknown[][]; rowsAffected?: number; error?: string }[];
  error?: string;
  leader?: number | null;
}

function show(v: unknown): string {
  if (v === null) return "NULL";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Sends one statement; returns the printable lines and whether it succeeded. */
export async function gouge(
  id: number,
  sql: string,
  consistency?: "strong" | "relaxed",
): Promise<{ ok: boolean; lines: string[] }> {
  const level = consistency ?? (/^\s*select\b/i.test(sql) ? "relaxed" : "strong");
  const res = await fetch(`${httpUrl(id)}/execute?consistency=${level}`, { method: "POST", body: sql });
  const body = await res.json() as Reply;
  if (!res.ok || body.error) {
    const leader = body.leader ? ` (leader: node ${body.leader})` : "";
    return { ok: false, lines: [`error: ${body.error ?? res.statusText}${leader}`] };
  }
  const lines: string[] = [];
  let ok = true;
  for (const r of body.results ?? []) {
    if (r.error !== undefined) {
      ok = false;
      lines.push(`error: ${r.error}`);
    } else if (r.columns) {
      for (const row of r.values ?? []) lines.push(row.map(show).join(" | "));
    } else {
      lines.push(`ok (${r.rowsAffected ?? 0} row${r.rowsAffected === 1 ? "" : "s"} changed)`);
    }
  }
  return { ok, lines };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: {
      node: { type: "string", short: "n", default: "1" },
      consistency: { type: "string", short: "c" },
      status: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(
      "usage: gouge [--node N] [--consistency strong|relaxed] [SQL...]   (no SQL: one statement per stdin line)\n" +
        "       gouge [--node N] --status\n",
    );
    return 0;
  }
  const id = Number(values.node);
  const c = values.consistency;
  if (c !== undefined && c !== "strong" && c !== "relaxed") {
    process.stderr.write(`unknown consistency ${c}: strong or relaxed\n`);
    return 2;
  }
  try {
    if (values.status) {
      const res = await fetch(`${httpUrl(id)}/status`);
      process.stdout.write(`${JSON.stringify(await res.json())}\n`);
      return 0;
    }
    let failed = false;
    const run = async (sql: string) => {
      const s = sql.trim().replace(/;$/, "");
      if (s === "") return;
      const r = await gouge(id, s, c);
      for (const line of r.lines) process.stdout.write(`${line}\n`);
      failed ||= !r.ok;
    };
    if (positionals.length > 0) {
      for (const sql of positionals) await run(sql);
    } else {
      const interactive = process.stdin.isTTY === true;
      const rl = createInterface({
        input: process.stdin,
        ...(interactive ? { output: process.stdout } : {}),
      });
      if (interactive) {
        rl.setPrompt(`gouge@${id}> `);
        rl.prompt();
      }
      for await (const line of rl) {
        await run(line);
        if (interactive) rl.prompt();
      }
    }
    return failed ? 1 : 0;
  } catch (e) {
    process.stderr.write(`gouge: node ${id} at ${httpUrl(id)}: ${(e as Error).message}\n`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main();
