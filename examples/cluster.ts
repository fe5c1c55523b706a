/**
 * `npm run cluster` (or `deno task cluster`): a local 3-node cluster of real `chiselstore node` processes
 * in one terminal. Their logs are interleaved with a colored `[nX]` prefix; Ctrl-C (or SIGTERM) stops all
 * three; if one exits on its own, the others are stopped too and the launcher exits 1.
 *
 *   node n1: data ./data/cluster/n1, libp2p 127.0.0.1:7401, HTTP http://127.0.0.1:4001   (n2: 7402/4002, ...)
 *
 * Options: --nodes N (default 3), --dir DIR (default ./data/cluster), --base-port P (libp2p P+1..,
 * default 7400), --http-base-port P (HTTP P+1.., default 4000). The data survives restarts: run it again
 * to get the same cluster back; delete ./data/cluster to start afresh.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { cliCommand } from "../src/cli/launch.ts";
import { loadOrCreateIdentity } from "../src/net/identity.ts";

const COLORS = [36, 33, 35, 32, 34, 31];
const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (c: number, s: string) => (color ? `\x1b[${c}m${s}\x1b[0m` : s);

interface Member {
  name: string;
  dir: string;
  listen: string;
  http: string;
  addr: string;
  color: number;
  child?: ChildProcess;
  /** Resolves with how it ended: "code N" or "signal S". */
  exited: Promise<string>;
}

function running(m: Member): boolean {
  return m.child !== undefined && m.child.exitCode === null && m.child.signalCode === null;
}

function say(line: string): void {
  process.stdout.write(`${paint(1, "[cluster]")} ${line}\n`);
}

function pipe(m: Member, stream: NodeJS.ReadableStream | null, out: NodeJS.WriteStream): void {
  if (!stream) return;
  const rl = createInterface({ input: stream });
  rl.on("line", (line) => out.write(`${paint(m.color, `[${m.name}]`)} ${line}\n`));
}

async function ready(url: string, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/status`);
      await res.body?.cancel();
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      nodes: { type: "string", default: "3" },
      dir: { type: "string", default: join("data", "cluster") },
      "base-port": { type: "string", default: "7400" },
      "http-base-port": { type: "string", default: "4000" },
    },
  });
  const n = Number(values.nodes);
  const p2pBase = Number(values["base-port"]);
  const httpBase = Number(values["http-base-port"]);
  if (!Number.isInteger(n) || n < 1 || n > 9) {
    process.stderr.write("--nodes must be 1..9\n");
    return 2;
  }
  const members: Member[] = [];
  for (let i = 1; i <= n; i++) {
    const dir = join(values.dir, `n${i}`);
    const { peerId } = await loadOrCreateIdentity(dir);
    const listen = `/ip4/127.0.0.1/tcp/${p2pBase + i}`;
    members.push({
      name: `n${i}`,
      dir,
      listen,
      http: `127.0.0.1:${httpBase + i}`,
      addr: `${listen}/p2p/${peerId}`,
      color: COLORS[(i - 1) % COLORS.length],
      exited: Promise.resolve(""),
    });
  }

  let stopping = false;
  for (const m of members) {
    const peers = members.filter((o) => o !== m).flatMap((o) => ["--peers", o.addr]);
    const { cmd, argv: args } = cliCommand([
      "node",
      "--data",
      m.dir,
      "--listen",
      m.listen,
      "--http",
      m.http,
      ...peers,
    ]);
    // Its own process group: a terminal's Ctrl-C reaches only the launcher, which stops the nodes in order.
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    m.child = child;
    m.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`))
    );
    pipe(m, child.stdout, process.stdout);
    pipe(m, child.stderr, process.stderr);
    say(`started ${m.name} (pid ${child.pid}): data ${m.dir}, libp2p ${m.listen}, HTTP http://${m.http}`);
  }

  let resolveStop: (why: string) => void = () => {};
  const stop = new Promise<string>((r) => (resolveStop = r));
  // process.on, not once: Deno's node:process installs signal listeners through `on` only.
  process.on("SIGINT", () => resolveStop("interrupted"));
  process.on("SIGTERM", () => resolveStop("terminated"));
  let failed = false;
  for (const m of members) {
    void m.exited.then((how) => {
      if (stopping) return;
      failed = true;
      resolveStop(`${m.name} exited unexpectedly (${how})`);
    });
  }

  void (async () => {
    const deadline = Date.now() + 30_000;
    const ok = await Promise.all(members.map((m) => ready(`http://${m.http}`, deadline)));
    if (stopping) return;
    if (!ok.every(Boolean)) return say("not every node answered within 30 s; see the logs above");
    say("all nodes are up:");
    for (const m of members) say(`  ${m.name}  http://${m.http}   shell: npm run shell -- http://${m.http}`);
    say(`status: npm run cli -- status http://${members[0].http}   stop: Ctrl-C`);
  })();

  const why = await stop;
  stopping = true;
  say(`${why}: stopping ${members.filter(running).map((m) => m.name).join(", ")}`);
  for (const m of members) {
    if (running(m) && m.child?.pid) process.kill(m.child.pid, "SIGTERM");
  }
  const grace = setTimeout(() => {
    for (const m of members) {
      if (running(m) && m.child?.pid) {
        say(`${m.name} did not stop within 10 s: killing it`);
        process.kill(m.child.pid, "SIGKILL");
      }
    }
  }, 10_000);
  await Promise.all(members.map((m) => m.exited));
  clearTimeout(grace);
  say("all nodes stopped");
  return failed ? 1 : 0;
}

// exit(), not exitCode: Deno keeps the process alive while signal listeners are installed.
if (import.meta.main) process.exit(await main());
