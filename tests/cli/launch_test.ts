/**
 * Every way this project starts a node runs it with the same V8 flags (src/cli/launch.ts: V8's young
 * generation otherwise grows to 128 MiB of RSS under load, docs/performance.md "Memory").
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { cliCommand, mainPath, V8_FLAGS } from "../../src/cli/launch.ts";

const root = new URL("../../", import.meta.url);
const read = (rel: string) => readFileSync(new URL(rel, root), "utf8");

test("cliCommand runs main.ts under this runtime with the V8 flags before the script", () => {
  assert.ok(V8_FLAGS.length > 0);
  const { argv } = cliCommand(["node", "--data", "x"]);
  const script = argv.indexOf(mainPath());
  assert.ok(script > 0, `main.ts in ${argv.join(" ")}`);
  assert.deepEqual(argv.slice(script + 1), ["node", "--data", "x"]);
  const before = argv.slice(0, script).join(" ");
  for (const f of V8_FLAGS) assert.ok(before.includes(f), `${f} before the script: ${before}`);
});

test("npm scripts, deno tasks and the installed command's shebang carry the same V8 flags", () => {
  const pkg = JSON.parse(read("package.json")) as { scripts: Record<string, string> };
  const deno = JSON.parse(read("deno.json")) as { tasks: Record<string, string> };
  const shebang = read("src/cli/main.ts").split("\n")[0];
  const launchers = {
    "npm run node": pkg.scripts.node,
    "npm run cli": pkg.scripts.cli,
    "deno task node": deno.tasks.node,
    "deno task cli": deno.tasks.cli,
    "main.ts shebang": shebang,
  };
  for (const [name, line] of Object.entries(launchers)) {
    for (const f of V8_FLAGS) assert.ok(line.includes(f), `${name} lacks ${f}: ${line}`);
  }
  assert.match(shebang, /^#!\/usr\/bin\/env -S node /);
});
