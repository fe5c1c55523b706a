/**
 * `chiselstore node`: run one member until SIGINT/SIGTERM. Settings come from flags, CHISELSTORE_*
 * variables and a config file (config.ts); logs go to stderr (logger.ts); the addresses to give to
 * other members and clients go to stdout once the node is up.
 */
import process from "node:process";
import type { NetLogger } from "../net/log.ts";
import { NodeError } from "../server/errors.ts";
import { type HttpApiOptions, startHttpApi } from "../server/http/mod.ts";
import { loadTls } from "../server/http/tls.ts";
import { loadUsers } from "../server/http/users.ts";
import { ChiselStore, type ChiselStoreOptions } from "../server/node.ts";
import { StorageLockedError } from "../storage/errors.ts";
import { type CliIo, type Command, UsageError } from "./command.ts";
import { loadNodeConfig, type NodeConfig, settingsHelp } from "./config.ts";
import { DEFAULT_LISTEN } from "./id.ts";
import { makeLogger } from "./logger.ts";

/** The node's consensus tick (ChiselStoreOptions.tickMs default); --election-ms is converted with it. */
const TICK_MS = 10;
/** How often membership and sessions are compared to log their changes. */
const WATCH_MS = 500;

const USAGE = `Usage: chiselstore node [flags]

Runs one member of a cluster until SIGINT or SIGTERM. The initial configuration is this node plus
its --peers (their multiaddrs end in /p2p/<peerId>; \`chiselstore id\` prints a node's own). With no
flags: a single-node cluster in ./data, HTTP API on 127.0.0.1:4001, no libp2p listener.

Every flag can also be set as an environment variable (--snapshot-entries → CHISELSTORE_SNAPSHOT_ENTRIES;
lists comma-separated) or as a key of a JSON/TOML config file (--config; keys are the flag names).
Precedence: flags > environment > config file > defaults.

Options:
${settingsHelp()}

Examples:
  chiselstore node
  chiselstore node --data ./n1 --listen /ip4/0.0.0.0/tcp/7401 --http 127.0.0.1:4001 \\
    --peers /ip4/10.0.0.2/tcp/7402/p2p/12D3KooW... --peers /ip4/10.0.0.3/tcp/7403/p2p/12D3KooW...`;

/** The node's options for a configuration. */
export function nodeOptions(c: NodeConfig, log: NetLogger): ChiselStoreOptions {
  const listen = c.listen.length > 0 ? c.listen : c.peers.length > 0 ? [DEFAULT_LISTEN] : [];
  return {
    dataDir: c.data,
    ...(listen.length > 0 ? { listen } : {}),
    peers: c.peers,
    relay: c.relay,
    ...(c.relayVia !== undefined ? { relayVia: c.relayVia } : {}),
    ...(c.join !== undefined ? { join: c.join } : {}),
    ...(c.clients !== "members" ? { clients: c.clients } : {}),
    fsync: c.fsync,
    tickMs: TICK_MS,
    ...(c.electionMs !== undefined ? { electionTicks: Math.max(2, Math.round(c.electionMs / TICK_MS)) } : {}),
    ...(c.snapshotEntries !== undefined ? { snapshotEntries: c.snapshotEntries } : {}),
    log,
  };
}

/**
 * Logs (at info) members joining or leaving and sessions opening or closing, by polling. Only the two lists
 * are read: a whole status() twice a second (it looks up the listen addresses) was most of an idle node's CPU.
 */
function watchChanges(node: ChiselStore, log: NetLogger): () => void {
  const read = () => ({ members: node.members, connected: node.connectedPeers() });
  let last = read();
  const timer = setInterval(() => {
    const now = read();
    const diff = (a: string[], b: string[]) => a.filter((x) => !b.includes(x));
    for (const m of diff(now.members, last.members)) log("info", `member added: ${m}`);
    for (const m of diff(last.members, now.members)) log("info", `member removed: ${m}`);
    for (const m of diff(now.connected, last.connected)) log("info", `connected to ${m}`);
    for (const m of diff(last.connected, now.connected)) log("info", `lost connection to ${m}`);
    last = now;
  }, WATCH_MS);
  return () => clearInterval(timer);
}

/** Resolves on the first SIGINT/SIGTERM; a second one while stopping exits at once (code 1). */
function signalled(): Promise<string> {
  return new Promise((resolve) => {
    let received = false;
    const on = (sig: string) => {
      if (received) process.exit(1);
      received = true;
      resolve(sig);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

/** The HTTP API's TLS and users, read and checked before anything starts: a bad file is a usage error. */
export async function httpSecurity(c: NodeConfig): Promise<Pick<HttpApiOptions, "tls" | "users">> {
  try {
    return {
      ...(c.httpCert !== undefined && c.httpKey !== undefined
        ? {
          tls: await loadTls({
            cert: c.httpCert,
            key: c.httpKey,
            ...(c.httpCa ? { clientCa: c.httpCa } : {}),
          }),
        }
        : {}),
      ...(c.auth !== undefined ? { users: await loadUsers(c.auth) } : {}),
    };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const LOOPBACK = /^(127\.|localhost$|::1$)/;

async function startNode(c: NodeConfig, log: NetLogger): Promise<ChiselStore> {
  try {
    return await ChiselStore.start(nodeOptions(c, log));
  } catch (err) {
    if (err instanceof StorageLockedError) {
      throw new Error(
        `data directory ${c.data} is in use by another node (process ${err.holderPid}); give each node its own --data`,
      );
    }
    if (err instanceof NodeError && err.code === "bad-request") throw new UsageError(err.message);
    throw err;
  }
}

async function run(args: string[], io: CliIo): Promise<number> {
  const { config, help } = await loadNodeConfig(args, process.env);
  if (help) {
    io.out(USAGE);
    return 0;
  }
  const log = makeLogger({
    format: config.logFormat,
    minLevel: config.logLevel,
    write: (line) => void process.stderr.write(`${line}\n`),
  });
  const security = await httpSecurity(config);
  if (!LOOPBACK.test(config.http.host)) {
    if (!security.users) {
      log(
        "warn",
        `HTTP API on ${config.http.host} without --auth: anyone who can reach it can read and write`,
      );
    }
    if (!security.tls) {
      log("warn", `HTTP API on ${config.http.host} without TLS: requests travel in clear text`);
    }
  }
  const stop = signalled();
  const node = await startNode(config, log);
  let http: { url: string; close(): Promise<void> } | undefined;
  let unwatch = () => {};
  try {
    try {
      http = await startHttpApi(node, { ...config.http, ...security });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
      throw new Error(
        `HTTP address ${config.http.host}:${config.http.port} is already in use (choose another --http)`,
      );
    }
    node.advertiseHttp(http.url);
    io.out(`peer ID    ${node.peerId}`);
    for (const a of node.multiaddrs()) io.out(`multiaddr  ${a}`);
    io.out(`HTTP API   ${http.url}`);
    io.out(`data       ${config.data}`);
    io.out(`members    ${node.members.length}`);
    unwatch = watchChanges(node, log);
    log("info", `stopping on ${await stop}`);
  } finally {
    unwatch();
    await http?.close();
    await node.stop();
  }
  log("info", "stopped");
  return 0;
}

export const nodeCommand: Command = {
  summary: "run a cluster member (SQL over HTTP, consensus over libp2p)",
  usage: USAGE,
  run,
};
