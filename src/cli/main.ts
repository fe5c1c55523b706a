#!/usr/bin/env -S node --max-semi-space-size=8
/**
 * The chiselstore command line: `chiselstore <command> [flags]`. Exit codes: 0 success, 1 failure,
 * 2 wrong usage. Subcommands live in their own files and are registered in COMMANDS.
 */
import { realpathSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { benchCommand } from "./bench/command.ts";
import { type CliIo, type Command, UsageError } from "./command.ts";
import { hashPasswordCommand } from "./hash_password.ts";
import { idCommand } from "./id.ts";
import { joinCommand, removeCommand } from "./membership.ts";
import { nodeCommand } from "./node.ts";
import { shellCommand } from "./shell.ts";
import { statusCommand } from "./status.ts";

const COMMANDS: Record<string, Command> = {
  node: nodeCommand,
  id: idCommand,
  status: statusCommand,
  shell: shellCommand,
  join: joinCommand,
  remove: removeCommand,
  bench: benchCommand,
  "hash-password": hashPasswordCommand,
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const list = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    "Usage: chiselstore <command> [flags]",
    "",
    "Commands:",
    ...list,
    "",
    "Run `chiselstore <command> --help` for details.",
  ]
    .join("\n");
}

const stdio: CliIo = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
};

/** Runs the CLI with `argv` (without the program name); resolves to the exit code. */
export async function main(argv: string[], io: CliIo = stdio): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    (name === undefined ? io.err : io.out)(usage());
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.err(`chiselstore: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`chiselstore ${name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    io.err(`chiselstore ${name}: ${(err as Error)?.message ?? err}`);
    return 1;
  }
}

/**
 * True when this file is the program: import.meta.main (Node >= 24.2, Deno; typed loosely for both
 * checkers), else (Node 22) whether argv[1], through the npm bin symlink, is this file.
 */
function isProgram(): boolean {
  const flag = (import.meta as { main?: boolean }).main;
  if (flag !== undefined) return flag;
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isProgram()) {
  // `chiselstore id | head -1` closes the pipe early: that is not an error.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await main(process.argv.slice(2));
}
