/**
 * Running the real `chiselstore` command as a child process with the runtime running the tests (Node's
 * process.execPath, or Deno.execPath() + `run --allow-all`), and a fake HTTP server speaking rqlite's JSON.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { cliCommand } from "../../src/cli/launch.ts";
import { main } from "../../src/cli/main.ts";
import { waitFor } from "../net/wait.ts";

/** The command line that runs the CLI with `args` under the current runtime (with the node's V8 flags). */
export { cliCommand };

/** Environment for children: this one without CHISELSTORE_* (tests add their own). */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("CHISELSTORE_")) env[k] = v;
  }
  return { ...env, NO_COLOR: "1", ...extra };
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (-1 for a death by signal). */
  exited: Promise<number>;
}

/** `prefix` runs the CLI through another command (e.g. `ip netns exec <ns>`), which must exec it. */
export function startCli(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; prefix?: string[] } = {},
): Running {
  const c = cliCommand(args);
  const [cmd, ...argv] = [...(opts.prefix ?? []), c.cmd, ...c.argv];
  const child = spawn(cmd, argv, { env: cleanEnv(opts.env), cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs the CLI to completion (killed after `timeoutMs`), feeding `input` on stdin. */
export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = startCli(args, opts);
  r.child.stdin!.end(opts.input ?? "");
  const timer = setTimeout(() => r.child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  try {
    const code = await r.exited;
    return { code, stdout: r.stdout(), stderr: r.stderr() };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the CLI's `main` in this process, as the program would (the same exit code and lines), for the many
 * usage-error cases where starting a runtime per case would cost a second each. One spawned case per command
 * keeps the program's own plumbing tested.
 */
export async function runMain(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    out: (l) => void (stdout += `${l}\n`),
    err: (l) => void (stderr += `${l}\n`),
  });
  return { code, stdout, stderr };
}

/** Stops a child (SIGTERM, then SIGKILL after `graceMs`) and returns its exit code. */
export async function stopCli(r: Running, graceMs = 10_000): Promise<number> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return await r.exited;
  // process.kill, not child.kill: Deno's ChildProcess reports a child it signalled as killed by that signal
  // (code null) even when the child handled it and exited 0.
  process.kill(r.child.pid!, "SIGTERM");
  const timer = setTimeout(() => r.child.kill("SIGKILL"), graceMs);
  try {
    return await r.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until the child's stdout matches `re`; returns the match. Fails early if the child exits. */
export async function waitForOutput(r: Running, re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  let m: RegExpMatchArray | null = null;
  await waitFor(
    () => {
      m = re.exec(r.stdout());
      if (!m && r.child.exitCode !== null) {
        throw new Error(
          `exited with ${r.child.exitCode} before printing ${re}:\n${r.stdout()}\n${r.stderr()}`,
        );
      }
      return m !== null;
    },
    timeoutMs,
    `output ${re}`,
    25,
  );
  return m!;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "chiselstore-cli-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface FakeRequest {
  method: string;
  url: string;
  body: string;
}

/** An HTTP server answering with `handler`; records every request. */
export async function fakeServer(
  handler: (req: FakeRequest) => { status?: number; body: unknown },
): Promise<{ url: string; requests: FakeRequest[]; close(): Promise<void> }> {
  const requests: FakeRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => {
      const r: FakeRequest = { method: req.method ?? "", url: req.url ?? "", body };
      requests.push(r);
      const { status, body: answer } = handler(r);
      res.writeHead(status ?? 200, { "content-type": "application/json" });
      res.end(typeof answer === "string" ? answer : JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
