/**
 * How this package starts a `chiselstore` process (local clusters, benches, tests, examples): the same CLI
 * under the runtime running the caller, with the V8 flags a node should run with.
 */
import process from "node:process";
import { fileURLToPath } from "node:url";

declare const Deno: { execPath(): string } | undefined;

/**
 * V8 flags for node processes. Under write load V8 grows its young generation to 128 MiB (two 64 MiB
 * semi-spaces), all of it resident: 100 MiB of a node's RSS for no measurable speed (docs/performance.md,
 * "Memory"). 8 MiB semi-spaces keep it at 16 MiB. `npm run node`, `deno task node` and the installed
 * `chiselstore` command pass the same flag; an embedding host sets it itself (docs/api.md).
 */
export const V8_FLAGS: readonly string[] = ["--max-semi-space-size=8"];

/** main.ts next to this file (main.js once compiled to dist/). */
export function mainPath(): string {
  const ext = import.meta.url.endsWith(".js") ? "js" : "ts";
  return fileURLToPath(new URL(`./main.${ext}`, import.meta.url));
}

/** The command line that runs this CLI with `args` under the runtime running this process. */
export function cliCommand(args: readonly string[]): { cmd: string; argv: string[] } {
  if (typeof Deno !== "undefined") {
    return {
      cmd: Deno.execPath(),
      argv: ["run", "--allow-all", `--v8-flags=${V8_FLAGS.join(",")}`, mainPath(), ...args],
    };
  }
  return { cmd: process.execPath, argv: [...V8_FLAGS, mainPath(), ...args] };
}
