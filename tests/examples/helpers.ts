/**
 * Running an example as a child process under the runtime running the tests (Node's process.execPath, or
 * Deno.execPath() + `run --allow-all`). Stopping one (by PID) is tests/cli/helpers.ts's stopCli.
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { cleanEnv, type Running } from "../cli/helpers.ts";

export { type Running, stopCli as stopExample } from "../cli/helpers.ts";

declare const Deno: { execPath(): string } | undefined;

export const IS_DENO = typeof Deno !== "undefined";

export function startExample(name: string, args: string[], env: Record<string, string> = {}): Running {
  const script = fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
  const [cmd, argv] = IS_DENO
    ? [Deno!.execPath(), ["run", "--allow-all", script, ...args]]
    : [process.execPath, [script, ...args]];
  const child = spawn(cmd, argv, { env: cleanEnv(env), stdio: ["pipe", "pipe", "pipe"] });
  const out: string[] = [];
  const err: string[] = [];
  child.stdout!.setEncoding("utf8").on("data", (d: string) => out.push(d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => err.push(d));
  return {
    child,
    stdout: () => out.join(""),
    stderr: () => err.join(""),
    exited: new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1))),
  };
}

/** Runs an example to completion with `input` on stdin; killed (by PID) after `timeoutMs`. */
export async function runExample(
  name: string,
  args: string[],
  opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = startExample(name, args, opts.env);
  r.child.stdin!.end(opts.input ?? "");
  const timer = setTimeout(() => r.child.kill("SIGKILL"), opts.timeoutMs ?? 20_000);
  const code = await r.exited.finally(() => clearTimeout(timer));
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}
