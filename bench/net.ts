/**
 * `npm run bench:net`: what libp2p + Noise + yamux cost the paxos transport, against a plain TCP socket
 * between the same two processes.
 *
 * A child process echoes paxos frames on two endpoints: a PaxosTransport (libp2p, /chiselstore/paxos/1.0.0)
 * and a node:net server speaking the same varint length-prefixed frames. Both paths encode and decode every
 * frame with the real codec, so the difference is the network stack. Measured per path: round-trip latency
 * (p50/p99, one frame in flight) and pipelined round trips per second (a window of frames in flight).
 * Results: a table on stdout and bench/results/net.json (each round, and the median over rounds).
 *
 *   node bench/net.ts [--rounds 5] [--rtts 2000] [--frames 50000] [--window 256]
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { cpus, loadavg } from "node:os";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Buffer } from "node:buffer";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { LengthPrefixedDecoder } from "@libp2p/utils";
import type { Message } from "../src/omnipaxos/mod.ts";
import { decodeMessage, encodeMessage, PaxosTransport, silentLogger } from "../src/net/mod.ts";
import { encodeFrames } from "../src/net/framing.ts";

const ENV_KEYS = "CHISEL_BENCH_KEYS";

/** A representative frame: an AcceptDecide carrying one 32-byte entry; `counter` tags the round trip. */
function frame(from: string, to: string, counter: number): Message<Uint8Array> {
  return {
    type: "AcceptDecide",
    from,
    to,
    configId: 1,
    n: { n: 3, priority: 0, pid: from },
    seq: { session: 1, counter },
    decidedIdx: counter,
    entries: [new Uint8Array(32).fill(7)],
  };
}

const tagOf = (m: Message<Uint8Array>) => (m.type === "AcceptDecide" ? m.seq.counter : -1);

// ---- child: echo both endpoints ----

async function runEcho(): Promise<void> {
  const [childKeyHex, parentId] = (process.env[ENV_KEYS] ?? "").split(":");
  const privateKey = privateKeyFromProtobuf(Uint8Array.from(Buffer.from(childKeyHex, "hex")));
  const me = peerIdFromPrivateKey(privateKey).toString();
  const transport = new PaxosTransport({
    privateKey,
    members: [me, parentId],
    listen: ["/ip4/127.0.0.1/tcp/0"],
    natServices: false,
    log: silentLogger,
    queue: { maxFrames: 1 << 16 },
  });
  transport.onMessage = (m) => void transport.send({ ...m, from: me, to: m.from });
  await transport.start();
  const server = createServer((sock) => {
    sock.setNoDelay(true);
    const decoder = new LengthPrefixedDecoder();
    sock.on("data", (chunk) => {
      const replies: Uint8Array[] = [];
      for (const f of decoder.decode(chunk)) {
        const m = decodeMessage(f, parentId, me);
        replies.push(encodeMessage({ ...m, from: me, to: m.from }));
      }
      if (replies.length > 0) sock.write(encodeFrames(replies));
    });
    sock.on("error", () => sock.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  process.stdout.write(`${JSON.stringify({ libp2p: transport.getMultiaddrs()[0], tcpPort: port })}\n`);
  // The parent closes our stdin when it is done.
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on("end", resolve));
  server.close();
  await transport.stop();
  process.exit(0);
}

// ---- parent: the two clients ----

/** A path under test: send a frame, and get called back with each echoed frame's tag. */
interface Path {
  send(counter: number): void;
  onEcho: (tag: number) => void;
  close(): Promise<void>;
}

async function libp2pPath(key: Awaited<ReturnType<typeof generateKeyPair>>, childId: string, addr: string) {
  const me = peerIdFromPrivateKey(key).toString();
  const transport = new PaxosTransport({
    privateKey: key,
    members: [me, childId],
    listen: ["/ip4/127.0.0.1/tcp/0"],
    peers: [addr],
    natServices: false,
    log: silentLogger,
    queue: { maxFrames: 1 << 16 },
  });
  const path: Path = {
    send: (c) => void transport.send(frame(me, childId, c)),
    onEcho: () => {},
    close: () => transport.stop(),
  };
  transport.onMessage = (m) => path.onEcho(tagOf(m));
  await transport.start();
  // Both directions must be up: ours, and the child's stream back over the same connection.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Promise<boolean>((resolve) => {
      path.onEcho = () => resolve(true);
      setTimeout(() => resolve(false), 200);
    });
    path.send(0);
    if (await probe) break;
    if (Date.now() > deadline) throw new Error("libp2p echo peer did not answer");
  }
  path.onEcho = () => {};
  return path;
}

async function tcpPath(port: number, childId: string, me: string): Promise<Path> {
  const sock: Socket = await new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1", noDelay: true }, () => resolve(s));
    s.on("error", reject);
  });
  const decoder = new LengthPrefixedDecoder();
  const path: Path = {
    // Same coalescing as the transport: frames sent in one turn of the event loop leave in one write.
    send: (c) => {
      pending.push(encodeMessage(frame(me, childId, c)));
      if (pending.length === 1) queueMicrotask(flush);
    },
    onEcho: () => {},
    close: () => Promise.resolve(void sock.destroy()),
  };
  let pending: Uint8Array[] = [];
  const flush = () => {
    sock.write(encodeFrames(pending));
    pending = [];
  };
  sock.on("data", (chunk) => {
    for (const f of decoder.decode(chunk)) path.onEcho(tagOf(decodeMessage(f, childId, me)));
  });
  return path;
}

async function latency(path: Path, rtts: number): Promise<{ p50: number; p99: number; mean: number }> {
  const samples: number[] = [];
  for (let i = 0; i < rtts + 200; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      path.onEcho = () => resolve();
      path.send(i + 1);
    });
    if (i >= 200) samples.push(performance.now() - t0); // the first 200 warm up
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { p50: at(0.5), p99: at(0.99), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

/** Round trips per second with `window` frames in flight. */
async function pipelined(path: Path, frames: number, window: number): Promise<number> {
  let sent = 0;
  let done = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    path.onEcho = () => {
      if (++done === frames) resolve();
      else if (sent < frames) path.send(++sent);
    };
    while (sent < Math.min(window, frames)) path.send(++sent);
  });
  return frames / ((performance.now() - t0) / 1000);
}

interface Round {
  libp2p: { p50: number; p99: number; mean: number; perSec: number };
  tcp: { p50: number; p99: number; mean: number; perSec: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function runBench(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "5" },
      rtts: { type: "string", default: "2000" },
      frames: { type: "string", default: "50000" },
      window: { type: "string", default: "256" },
    },
  });
  const [rounds, rtts, frames, window] = [values.rounds, values.rtts, values.frames, values.window].map(
    Number,
  );
  const [parentKey, childKey] = await Promise.all([generateKeyPair("Ed25519"), generateKeyPair("Ed25519")]);
  const parentId = peerIdFromPrivateKey(parentKey).toString();
  const childId = peerIdFromPrivateKey(childKey).toString();
  const self = fileURLToPath(import.meta.url);
  const args = "Deno" in globalThis ? ["run", "-A", self, "--echo"] : [self, "--echo"];
  const keys = `${Buffer.from(privateKeyToProtobuf(childKey)).toString("hex")}:${parentId}`;
  const child = spawn(process.execPath, args, {
    env: { ...process.env, [ENV_KEYS]: keys },
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    const line: string = await new Promise((resolve, reject) => {
      createInterface({ input: child.stdout! }).once("line", resolve);
      child.once("exit", (code) => reject(new Error(`echo process exited (${code})`)));
    });
    const endpoints = JSON.parse(line) as { libp2p: string; tcpPort: number };
    const results: Round[] = [];
    for (let r = 0; r < rounds; r++) {
      // A fresh connection per round and per path, so no round inherits another's state.
      const lp = await libp2pPath(parentKey, childId, endpoints.libp2p);
      const lpLat = await latency(lp, rtts);
      const lpRate = await pipelined(lp, frames, window);
      await lp.close();
      const tcp = await tcpPath(endpoints.tcpPort, childId, parentId);
      const tcpLat = await latency(tcp, rtts);
      const tcpRate = await pipelined(tcp, frames, window);
      await tcp.close();
      results.push({ libp2p: { ...lpLat, perSec: lpRate }, tcp: { ...tcpLat, perSec: tcpRate } });
      process.stderr.write(`round ${r + 1}/${rounds} done\n`);
    }
    await report(results, { rounds, rtts, frames, window });
  } finally {
    child.stdin!.end();
  }
}

async function report(results: Round[], params: Record<string, number>): Promise<void> {
  const med = (path: "libp2p" | "tcp", k: keyof Round["tcp"]) => median(results.map((r) => r[path][k]));
  const medians = (path: "libp2p" | "tcp") =>
    Object.fromEntries((["p50", "p99", "mean", "perSec"] as const).map((k) => [k, med(path, k)]));
  const rows = [
    ["metric (median of rounds)", "libp2p+noise+yamux", "plain TCP", "ratio"],
    ...(["p50", "p99", "mean"] as const).map((k) => [
      `RTT ${k} (ms)`,
      med("libp2p", k).toFixed(3),
      med("tcp", k).toFixed(3),
      (med("libp2p", k) / med("tcp", k)).toFixed(2),
    ]),
    [
      `pipelined round trips/s (window ${params.window})`,
      med("libp2p", "perSec").toFixed(0),
      med("tcp", "perSec").toFixed(0),
      (med("tcp", "perSec") / med("libp2p", "perSec")).toFixed(2),
    ],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i])).join("  ")}\n`);
  const runtime = "Deno" in globalThis
    ? `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
    : `node ${process.version}`;
  const out = {
    date: new Date().toISOString(),
    runtime,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg() },
    frame: "AcceptDecide with one 32-byte entry (~100 bytes encoded)",
    params,
    median: { libp2p: medians("libp2p"), tcp: medians("tcp") },
    rounds: results,
  };
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}net.json`, `${JSON.stringify(out, null, 2)}\n`);
}

if (process.argv.includes("--echo")) await runEcho();
else await runBench();
