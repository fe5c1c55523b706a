/**
 * `chiselstore shell [url]`: an SQL shell over a node's HTTP API, in the spirit of sqlite3 and rqlite's
 * shell. Statements end with `;` and may span lines; each goes to /db/request (the node tells reads from
 * writes; reads run at the chosen consistency level). Dot-commands are table-driven (DOT_COMMANDS). With a terminal it
 * prompts and keeps a history (~/.chiselstore_history); with piped input it runs everything, prints
 * "Error: …" for failures and exits 1 if any statement failed.
 */
import { readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { HttpClient } from "../client/http_client.ts";
import type { StatementResult } from "../store/results.ts";
import { baseUrl, callApi, DEFAULT_URL, type Target } from "./api.ts";
import { type CliIo, type Command, defineCommand, UsageError } from "./command.ts";
import { CONNECT_FLAGS, CONNECT_HELP, connectOptions } from "./connect_flags.ts";
import { splitStatements } from "./sql_split.ts";
import { formatMembers, memberRows, printStatus } from "./status.ts";
import { formatTable } from "./table.ts";

export const CONSISTENCY_LEVELS = ["none", "weak", "linearizable", "strong"] as const;
type Level = typeof CONSISTENCY_LEVELS[number];

const HISTORY_FILE = ".chiselstore_history";
const HISTORY_SIZE = 1000;

export interface ShellState {
  base: string;
  target: Target;
  client: HttpClient;
  io: CliIo;
  consistency: Level;
  timer: boolean;
  /** Some statement or command failed (the exit code of a piped session). */
  failed: boolean;
  quit: boolean;
}

interface DotCommand {
  args: string;
  help: string;
  run(s: ShellState, args: string[]): Promise<void>;
}

function isLevel(v: string): v is Level {
  return (CONSISTENCY_LEVELS as readonly string[]).includes(v);
}

/** Quotes a value as an SQL string literal. */
function sqlString(v: string): string {
  return `'${v.replaceAll("'", "''")}'`;
}

/** User objects only: SQLite's own and the store's (__chisel_…) are hidden. */
const USER_OBJECTS = String
  .raw`name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE '\_\_chisel\_%' ESCAPE '\'`;

/** Runs a read and prints its rows without a header (for .tables and .schema). */
async function printColumn(s: ShellState, sql: string): Promise<void> {
  const [r] = await s.client.query(sql, { consistency: s.consistency });
  if (r.error !== undefined) throw new Error(r.error);
  for (const row of r.values ?? []) s.io.out(String(row[0]));
}

export const DOT_COMMANDS: Record<string, DotCommand> = {
  ".tables": {
    args: "",
    help: "list the tables",
    run: (s) =>
      printColumn(s, `SELECT name FROM sqlite_master WHERE type = 'table' AND ${USER_OBJECTS} ORDER BY name`),
  },
  ".schema": {
    args: "[table]",
    help: "show the CREATE statements (of one table and its indexes and triggers)",
    run: (s, [table]) =>
      printColumn(
        s,
        `SELECT sql || ';' FROM sqlite_master WHERE sql IS NOT NULL AND ${USER_OBJECTS}${
          table === undefined ? "" : ` AND tbl_name = ${sqlString(table)}`
        } ORDER BY tbl_name, type DESC, name`,
      ),
  },
  ".status": {
    args: "",
    help: "show the node's status and the cluster",
    run: (s) => printStatus(s.io, s.target, false),
  },
  ".nodes": {
    args: "",
    help: "show the members, their reachability and indexes",
    async run(s) {
      for (const l of formatMembers(memberRows(await callApi(s.target, "GET", "/nodes")))) s.io.out(l);
    },
  },
  ".consistency": {
    args: "[level]",
    help: `show or set the read consistency: ${CONSISTENCY_LEVELS.join(" | ")}`,
    run(s, [level]) {
      if (level === undefined) s.io.out(s.consistency);
      else if (isLevel(level)) s.consistency = level;
      else throw new Error(`unknown consistency level "${level}" (${CONSISTENCY_LEVELS.join(", ")})`);
      return Promise.resolve();
    },
  },
  ".timer": {
    args: "on|off",
    help: "show the time each statement takes",
    run(s, [v]) {
      if (v !== "on" && v !== "off") throw new Error("usage: .timer on|off");
      s.timer = v === "on";
      return Promise.resolve();
    },
  },
  ".help": {
    args: "",
    help: "show this help",
    run(s) {
      const rows = Object.entries(DOT_COMMANDS).map((
        [n, c],
      ) => [`${n}${c.args ? ` ${c.args}` : ""}`, c.help]);
      const w = Math.max(...rows.map((r) => r[0].length));
      for (const [a, h] of rows) s.io.out(`${a.padEnd(w)}  ${h}`);
      s.io.out("Anything else is SQL, ending with ';' (it may span lines).");
      return Promise.resolve();
    },
  },
  ".quit": {
    args: "",
    help: "leave the shell (also .exit, Ctrl-D)",
    run(s) {
      s.quit = true;
      return Promise.resolve();
    },
  },
};
DOT_COMMANDS[".exit"] = DOT_COMMANDS[".quit"];

function printResult(s: ShellState, r: StatementResult): void {
  if (r.error !== undefined) throw new Error(r.error);
  if (r.columns !== undefined) {
    for (const l of formatTable(r.columns, r.values ?? [])) s.io.out(l);
  } else {
    const n = r.rowsAffected ?? 0;
    s.io.out(`${n} row${n === 1 ? "" : "s"} affected`);
  }
}

/** Runs one SQL statement and prints its result or "Error: …". */
export async function runStatement(s: ShellState, sql: string): Promise<void> {
  const started = performance.now();
  try {
    const results = await s.client.request([sql], { consistency: s.consistency });
    if (results.length !== 1) throw new Error(`expected one result, got ${results.length}`);
    printResult(s, results[0]);
  } catch (err) {
    s.failed = true;
    s.io.out(`Error: ${(err as Error).message}`);
  }
  if (s.timer) s.io.out(`Run Time: ${((performance.now() - started) / 1000).toFixed(3)}s`);
}

/** Runs one dot-command line. */
export async function runDot(s: ShellState, line: string): Promise<void> {
  const [name, ...args] = line.trim().split(/\s+/);
  const cmd = Object.hasOwn(DOT_COMMANDS, name) ? DOT_COMMANDS[name] : undefined;
  try {
    if (!cmd) throw new Error(`unknown command ${name}; enter .help for the list`);
    await cmd.run(s, args);
  } catch (err) {
    s.failed = true;
    s.io.out(`Error: ${(err as Error).message}`);
  }
}

/**
 * Feeds input lines through the shell; `prompt(continued)` is called before each line is awaited.
 * Returns when the input ends or .quit is given; at the end of the input an unterminated statement runs.
 */
export async function runLines(
  s: ShellState,
  lines: AsyncIterable<string>,
  prompt: (continued: boolean) => void = () => {},
): Promise<void> {
  let pending = "";
  prompt(false);
  for await (const line of lines) {
    if (pending === "" && line.trimStart().startsWith(".")) {
      await runDot(s, line);
    } else {
      const { statements, rest } = splitStatements(`${pending}${line}\n`);
      pending = rest;
      for (const sql of statements) await runStatement(s, sql);
    }
    if (s.quit) return;
    prompt(pending !== "");
  }
  if (pending.trim() !== "") await runStatement(s, pending.trim());
}

async function loadHistory(path: string): Promise<string[]> {
  try {
    return (await readFile(path, "utf8")).split("\n").filter((l) => l !== "").reverse();
  } catch {
    return [];
  }
}

const USAGE = `Usage: chiselstore shell [url] [--consistency <level>]

An SQL shell over a node's HTTP API (default ${DEFAULT_URL}). End statements with ';' (they may span
lines); each is sent to /db/request: reads run at the consistency level, writes go through the log.
Piped input runs non-interactively: \`echo "SELECT 1;" | chiselstore shell\`; the exit code is 1 if
any statement failed. Enter .help in the shell for its dot-commands.

Options:
  --consistency <level>   read consistency: ${CONSISTENCY_LEVELS.join(" | ")} (default weak)
${CONNECT_HELP}
  -h, --help              show this help`;

export const shellCommand: Command = defineCommand({
  summary: "interactive SQL shell over a node's HTTP API",
  usage: USAGE,
  options: { consistency: { type: "string" }, ...CONNECT_FLAGS },
  maxPositionals: 1,
  async run({ values, positionals }, io) {
    const level = (values.consistency as string | undefined) ?? "weak";
    if (!isLevel(level)) throw new UsageError(`--consistency: expected ${CONSISTENCY_LEVELS.join(" | ")}`);
    const base = baseUrl(positionals[0]);
    const target = { base, connect: await connectOptions(values, process.env) };
    const s: ShellState = {
      base,
      target,
      client: new HttpClient(base, target.connect),
      io,
      consistency: level,
      timer: false,
      failed: false,
      quit: false,
    };
    // Fail early and clearly (refused, timed out, not a node) instead of once per statement.
    await callApi(target, "GET", "/status");
    const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
    const historyPath = join(homedir(), HISTORY_FILE);
    const rl = createInterface({
      input: process.stdin,
      ...(interactive
        ? {
          output: process.stdout,
          terminal: true,
          history: await loadHistory(historyPath),
          historySize: HISTORY_SIZE,
        }
        : { terminal: false }),
    });
    let history: string[] = [];
    rl.on("history", (h: string[]) => (history = h));
    // Ctrl-C leaves the shell, like Ctrl-D.
    rl.on("SIGINT", () => rl.close());
    const host = new URL(s.base).host;
    try {
      if (interactive) io.out(`Connected to ${s.base}. Enter .help for help, .quit to leave.`);
      await runLines(s, rl, (continued) => {
        if (!interactive) return;
        rl.setPrompt(continued ? `${" ".repeat(Math.max(0, host.length - 3))}...> ` : `${host}> `);
        rl.prompt();
      });
    } finally {
      rl.close();
      if (interactive && history.length > 0) {
        await writeFile(historyPath, [...history].reverse().join("\n") + "\n", { mode: 0o600 }).catch(
          () => {},
        );
      }
    }
    return interactive ? 0 : s.failed ? 1 : 0;
  },
});
