/**
 * The harness's network faults, checked at the packet level without ChiselStore: a tiny HTTP server in node
 * 0's namespace, fetched from the root namespace (the test's own traffic, never filtered) and from node 1's
 * namespace. Also: bad input changes nothing, a throttled link is slow, and cleanup and the start-up sweep
 * leave no namespace, veth or bridge behind.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { waitFor } from "../../net/wait.ts";
import { Faults } from "./faults.ts";
import { Netns, netnsSkip, sh, sweep } from "./netns.ts";

declare const Deno: { execPath(): string } | undefined;

const PORT = 8080;
/** Bytes the server sends per request: enough for a 1 mbit/s link to take about a second. */
const BODY = 128 * 1024;

/** Command line evaluating a JavaScript module with the runtime running the tests. */
function evalCommand(code: string): string[] {
  if (typeof Deno !== "undefined") return [Deno.execPath(), "eval", code];
  return [process.execPath, "--input-type=module", "-e", code];
}

const SERVER = `import { createServer } from "node:http";
const body = "x".repeat(${BODY});
createServer((_, res) => res.end(body)).listen(${PORT}, "0.0.0.0");`;

/** From node `from`'s namespace: fetches node 0's server; prints the bytes received or the error. */
function fetchFrom(net: Netns, from: number, timeoutMs: number): Promise<string> {
  const code = `try {
  const r = await fetch("http://${net.ip(0)}:${PORT}/", { signal: AbortSignal.timeout(${timeoutMs}) });
  console.log(String((await r.text()).length));
} catch (e) { console.log("error " + (e.cause?.code ?? e.name)); }
(await import("node:process")).default.exit(0); // a connect still retrying would keep the process alive`;
  const [cmd, ...args] = evalCommand(code);
  return net.exec(from, cmd, args).then((out) => out.trim());
}

async function fetchFromRoot(net: Netns): Promise<string> {
  const r = await fetch(`http://${net.ip(0)}:${PORT}/`, { signal: AbortSignal.timeout(5000) });
  return String((await r.text()).length);
}

/** Runs `fn` with a 3-node Netns whose node 0 serves HTTP; removes everything afterwards. */
async function withServer(fn: (net: Netns, faults: Faults) => Promise<void>): Promise<void> {
  const net = await Netns.create(3);
  const [cmd, ...args] = evalCommand(SERVER);
  const server = spawn("ip", ["netns", "exec", net.ns(0), cmd, ...args], { stdio: "ignore" });
  try {
    await waitFor(
      () => fetchFromRoot(net).then(() => true, () => false),
      30_000,
      "the server in node 0's namespace",
      100,
    );
    await fn(net, new Faults(net));
  } finally {
    server.kill("SIGKILL");
    await net.destroy();
  }
}

const skip = netnsSkip();
const OK = String(BODY);

test("partition, cut and one-way drops block node-to-node traffic but never the root namespace's", {
  skip,
  timeout: 120_000,
}, () =>
  withServer(async (net, faults) => {
    assert.equal(await fetchFrom(net, 1, 5000), OK, "linked before any fault");
    await faults.partition([[0], [1, 2]]);
    assert.match(await fetchFrom(net, 1, 1500), /^error/, "partitioned");
    assert.equal(await fetchFromRoot(net), OK, "the test still reaches node 0");
    await faults.heal();
    assert.equal(await fetchFrom(net, 1, 5000), OK, "healed");

    await faults.cut(0, 2);
    assert.equal(await fetchFrom(net, 1, 5000), OK, "cut 0-2 leaves 0-1");
    assert.match(await fetchFrom(net, 2, 1500), /^error/, "cut 0-2");
    await faults.heal();

    // 1 → 0 dropped: node 1's SYN never arrives. 0 → 1 still flows (checked through the recorded rules).
    await faults.oneWay(1, 0);
    assert.match(await fetchFrom(net, 1, 1500), /^error/, "one way 1→0");
    assert.deepEqual(faults.drops(), { "1>0": 1 });
    await faults.heal();
    assert.deepEqual(faults.drops(), {});
    assert.equal(await fetchFrom(net, 1, 5000), OK, "healed again");
  }));

test("fault rules: bad input is refused and changes nothing; loss is a random drop at both ends", {
  skip,
  timeout: 60_000,
}, async () => {
  const net = await Netns.create(3);
  try {
    const faults = new Faults(net);
    await faults.cut(0, 1);
    const before = faults.drops();
    await assert.rejects(faults.partition([[0, 1]]), /every node in exactly one group/);
    await assert.rejects(faults.partition([[0, 1], [1, 2]]), /every node in exactly one group/);
    await assert.rejects(faults.cut(0, 3), /no node 3/);
    await assert.rejects(faults.oneWay(2, 2), /two different nodes/);
    await assert.rejects(faults.loss(0, 2, 1), /probability/);
    await assert.rejects(faults.throttle(1, "fast"), /rate like/);
    await assert.rejects(faults.onlyLinks([[0, 1.5]]), /no node 1.5/);
    assert.deepEqual(faults.drops(), before);
    const rules = await net.exec(0, "iptables", ["-S", "INPUT"]);
    assert.match(rules, new RegExp(`-A INPUT -s ${net.ip(1).replaceAll(".", "\\.")}/32 -j DROP`));
    assert.equal(rules.split("\n").filter((l) => l.startsWith("-A")).length, 1, rules);
    // Loss is a random-drop rule on both ends of the link (the kernel keeps p to about 1e-10).
    await faults.loss(0, 2, 0.3);
    for (const [at, from] of [[0, 2], [2, 0]]) {
      const r = await net.exec(at, "iptables", ["-S", "INPUT"]);
      const ip = net.ip(from).replaceAll(".", "\\.");
      const m = new RegExp(`-A INPUT -s ${ip}/32 -m statistic --mode random --probability ([\\d.]+) -j DROP`)
        .exec(r);
      assert.ok(m && Math.abs(Number(m[1]) - 0.3) < 1e-6, r);
    }
  } finally {
    await net.destroy();
  }
});

test(
  "a throttled link is slow and heal() restores it",
  { skip, timeout: 120_000 },
  () =>
    withServer(async (net, faults) => {
      await faults.throttle(0, "1mbit");
      const t0 = performance.now();
      assert.equal(await fetchFrom(net, 1, 20_000), OK);
      const slowMs = performance.now() - t0;
      // 128 KiB at 1 mbit/s is about 1 s (process start-up comes on top, so only the lower bound is checked).
      assert.ok(slowMs >= 900, `throttled transfer took ${Math.round(slowMs)} ms`);
      await faults.heal();
      const qdisc = await net.exec(0, "tc", ["qdisc", "show", "dev", "eth0"]);
      assert.doesNotMatch(qdisc, /tbf/);
      assert.equal(await fetchFrom(net, 1, 5000), OK);
    }),
);

test(
  "destroy() and the start-up sweep leave no namespace, veth or bridge behind",
  { skip, timeout: 60_000 },
  async () => {
    const net = await Netns.create(2);
    const names = [net.ns(0), net.ns(1), net.hostVeth(0), net.hostVeth(1), net.bridge];
    const listing = async () =>
      (await sh("ip", ["netns", "list"])) + (await sh("ip", ["-o", "link", "show"]));
    for (const n of names) assert.ok((await listing()).includes(n), `${n} exists`);
    await net.destroy();
    for (const n of names) assert.ok(!(await listing()).includes(n), `${n} removed`);

    // Leftovers named after a test process that is gone: the PID of a child that just exited.
    const gone = spawn(process.execPath, ["--version"], { stdio: "ignore" });
    const pid = gone.pid!;
    await new Promise((resolve) => gone.on("close", resolve));
    const stale = `cs${pid.toString(36)}-0n0`;
    await sh("ip", ["netns", "add", stale]);
    await sh("ip", ["link", "add", `cs${pid.toString(36)}-0b`, "type", "bridge"]);
    const removed = await sweep();
    assert.ok(
      removed.includes(stale) && removed.includes(`cs${pid.toString(36)}-0b`),
      JSON.stringify(removed),
    );
    assert.ok(!(await listing()).includes(`cs${pid.toString(36)}-0`));
  },
);
