/**
 * The `node` subcommand's configuration, from one table of settings. Each setting has a flag
 * (`--snapshot-entries`), an environment variable (`CHISELSTORE_SNAPSHOT_ENTRIES`) and a config file key
 * (`snapshot-entries`, in JSON or TOML). Precedence: flags > environment > file > defaults. Every problem
 * (unknown key, wrong type, bad address) is a UsageError: exit code 2.
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { parse as parseToml } from "smol-toml";
import type { NetLogLevel } from "../net/log.ts";
import { parsePeerAddr } from "../net/transport.ts";
import type { FsyncMode } from "../storage/mod.ts";
import { parseFlags, UsageError } from "./command.ts";
import { CONNECT_ENV } from "./connect_flags.ts";
import { peerIdFromString } from "@libp2p/peer-id";
import { DEFAULT_LISTEN } from "./id.ts";
import { LOG_FORMATS, LOG_LEVELS, type LogFormat } from "./logger.ts";

export interface NodeConfig {
  data: string;
  /** libp2p listen multiaddrs; empty: no libp2p unless there are peers (then DEFAULT_LISTEN). */
  listen: string[];
  peers: string[];
  http: { host: string; port: number };
  /** PEM files of the HTTP API's TLS certificate and key; with `httpCa`, client certificates are required. */
  httpCert: string | undefined;
  httpKey: string | undefined;
  httpCa: string | undefined;
  /** Users file: the HTTP API then requires credentials (docs/security.md). */
  auth: string | undefined;
  relay: boolean;
  relayVia: string | undefined;
  /** Join a running cluster through this member's multiaddr (first start only). */
  join: string | undefined;
  /** Non-members allowed to use the libp2p client protocol: "members" (none), "any", or peer IDs. */
  clients: "members" | "any" | string[];
  fsync: FsyncMode;
  snapshotEntries: number | undefined;
  electionMs: number | undefined;
  logFormat: LogFormat;
  logLevel: NetLogLevel;
}

type Kind =
  | { type: "string"; check?: (v: string) => void }
  | { type: "strings"; check?: (v: string) => void }
  | { type: "boolean" }
  | { type: "integer"; min: number }
  | { type: "choice"; values: readonly string[] };

interface Setting {
  /** Flag name without dashes; also the config file key. */
  name: string;
  kind: Kind;
  arg: string;
  help: string;
  /** Not allowed inside a config file (the file's own path). */
  notInFile?: boolean;
}

export const DEFAULT_HTTP = "127.0.0.1:4001";
export const DEFAULT_DATA = "./data";

function checkMultiaddr(v: string): void {
  try {
    multiaddr(v);
  } catch {
    throw new Error(`not a multiaddr: ${v}`);
  }
}

function checkPeerAddr(v: string): void {
  try {
    parsePeerAddr(v);
  } catch (err) {
    throw new Error(
      (err as Error).message.startsWith("peer address")
        ? (err as Error).message
        : `not a peer address (/…/p2p/<peerId>): ${v}`,
    );
  }
}

/** "host:port", "[v6]:port" or ":port" (host 127.0.0.1). */
export function parseHostPort(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`expected host:port, got ${JSON.stringify(v)}`);
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port };
}

export const SETTINGS: readonly Setting[] = [
  { name: "data", kind: { type: "string" }, arg: "<dir>", help: `data directory (default ${DEFAULT_DATA})` },
  {
    name: "listen",
    kind: { type: "strings", check: checkMultiaddr },
    arg: "<multiaddr>",
    help: `libp2p listen address, repeatable (default: none alone, ${DEFAULT_LISTEN} with --peers)`,
  },
  {
    name: "peers",
    kind: { type: "strings", check: checkPeerAddr },
    arg: "<multiaddr>",
    help: "another member, ending in /p2p/<peerId>; repeatable (none: a single-node cluster)",
  },
  {
    name: "http",
    kind: { type: "string", check: (v) => void parseHostPort(v) },
    arg: "<host:port>",
    help: `HTTP API address (default ${DEFAULT_HTTP}; port 0 picks a free one)`,
  },
  {
    name: "http-cert",
    kind: { type: "string" },
    arg: "<file>",
    help: "serve the HTTP API over HTTPS with this PEM certificate (with --http-key)",
  },
  { name: "http-key", kind: { type: "string" }, arg: "<file>", help: "the PEM private key of --http-cert" },
  {
    name: "http-ca",
    kind: { type: "string" },
    arg: "<file>",
    help: "require HTTPS clients to present a certificate signed by this PEM CA",
  },
  {
    name: "auth",
    kind: { type: "string" },
    arg: "<users.json>",
    help: "require credentials: users, password/token hashes and permissions (docs/security.md)",
  },
  { name: "relay", kind: { type: "boolean" }, arg: "", help: "serve as a circuit relay for other members" },
  {
    name: "relay-via",
    kind: { type: "string", check: checkPeerAddr },
    arg: "<multiaddr>",
    help: "be reachable through this relay (its address ending in /p2p/<relayId>)",
  },
  {
    name: "join",
    kind: { type: "string", check: checkPeerAddr },
    arg: "<multiaddr>",
    help: "first start only: join a running cluster through this member, once added with `chiselstore join`",
  },
  {
    name: "clients",
    kind: { type: "strings" },
    arg: "<any|peerId>",
    help: "libp2p clients allowed besides members: `any`, or peer IDs (repeatable); default none",
  },
  {
    name: "fsync",
    kind: { type: "choice", values: ["always", "batch", "never"] },
    arg: "<mode>",
    help: "always (default) | batch | never: when the log is flushed to disk",
  },
  {
    name: "snapshot-entries",
    kind: { type: "integer", min: 1 },
    arg: "<n>",
    help: "snapshot the database and trim the log every n entries (default 10000)",
  },
  {
    name: "election-ms",
    kind: { type: "integer", min: 20 },
    arg: "<ms>",
    help: "election timeout / heartbeat round in ms (default 300)",
  },
  {
    name: "log-format",
    kind: { type: "choice", values: LOG_FORMATS },
    arg: "<fmt>",
    help: "text (default) | json: one JSON object per line",
  },
  {
    name: "log-level",
    kind: { type: "choice", values: LOG_LEVELS },
    arg: "<level>",
    help: "debug | info (default) | warn | error",
  },
  {
    name: "config",
    kind: { type: "string" },
    arg: "<file>",
    help: "read settings from a .json or .toml file",
    notInFile: true,
  },
];

type Value = string | string[] | boolean | number;
type Layer = Map<string, Value>;

/** The settings as CHISELSTORE_* variable names. */
export function envName(setting: string): string {
  return `CHISELSTORE_${setting.toUpperCase().replaceAll("-", "_")}`;
}

/** Checks one value of a setting; `raw` strings come from the environment and are converted. */
function convert(s: Setting, value: unknown, fromText: boolean): Value {
  const k = s.kind;
  const bad = (what: string) => new Error(`expected ${what}, got ${JSON.stringify(value)}`);
  switch (k.type) {
    case "string":
    case "choice": {
      if (typeof value !== "string") throw bad("a string");
      if (k.type === "choice" && !k.values.includes(value)) throw bad(k.values.join(" | "));
      if (k.type === "string") k.check?.(value);
      return value;
    }
    case "strings": {
      const list = fromText && typeof value === "string"
        ? value.split(",").map((p) => p.trim()).filter((p) => p !== "")
        : value;
      if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) throw bad("a list of strings");
      for (const x of list) k.check?.(x);
      return list;
    }
    case "boolean": {
      if (typeof value === "boolean") return value;
      if (fromText && typeof value === "string") {
        const v = value.toLowerCase();
        if (["1", "true", "yes", "on"].includes(v)) return true;
        if (["0", "false", "no", "off", ""].includes(v)) return false;
      }
      throw bad("true or false");
    }
    case "integer": {
      const n = fromText && typeof value === "string" && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
      if (typeof n !== "number" || !Number.isSafeInteger(n)) throw bad("an integer");
      if (n < k.min) throw new Error(`must be at least ${k.min}, got ${n}`);
      return n;
    }
  }
}

function setting(name: string): Setting | undefined {
  return SETTINGS.find((s) => s.name === name);
}

function layer(
  entries: Iterable<[string, unknown]>,
  where: (name: string) => string,
  fromText: boolean,
  known: (name: string) => Setting | undefined,
): Layer {
  const out: Layer = new Map();
  for (const [name, value] of entries) {
    const s = known(name);
    if (!s) throw new UsageError(`${where(name)}: unknown setting`);
    try {
      out.set(s.name, convert(s, value, fromText));
    } catch (err) {
      throw new UsageError(`${where(name)}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** CHISELSTORE_* variables (any other name is ignored; an unknown CHISELSTORE_ name is an error). */
export function envLayer(env: Record<string, string | undefined>): Layer {
  const entries = Object.entries(env).filter((e): e is [string, string] =>
    e[0].startsWith("CHISELSTORE_") && !CONNECT_ENV.includes(e[0]) && e[1] !== undefined
  );
  return layer(entries, (n) => n, true, (n) => SETTINGS.find((s) => envName(s.name) === n));
}

/** The contents of a config file; `path` decides the format (.json or .toml). */
export function fileLayer(path: string, text: string): Layer {
  const ext = extname(path).toLowerCase();
  let data: unknown;
  try {
    if (ext === ".json") data = JSON.parse(text);
    else if (ext === ".toml") data = parseToml(text);
    else throw new Error("the file name must end in .json or .toml");
  } catch (err) {
    throw new UsageError(`config file ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new UsageError(`config file ${path}: expected an object of settings`);
  }
  return layer(
    Object.entries(data),
    (n) => `config file ${path}: key "${n}"`,
    false,
    (n) => {
      const s = setting(n);
      return s?.notInFile ? undefined : s;
    },
  );
}

/** Parsed flags as a layer; `help` is returned apart. */
export function flagLayer(args: string[]): { flags: Layer; help: boolean } {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const s of SETTINGS) {
    options[s.name] = s.kind.type === "boolean"
      ? { type: "boolean" }
      : s.kind.type === "strings"
      ? { type: "string", multiple: true }
      : { type: "string" };
  }
  const { values } = parseFlags(args, options);
  const { help, ...rest } = values as Record<string, string | string[] | boolean | undefined>;
  const entries = Object.entries(rest).filter((e): e is [string, string | string[] | boolean] =>
    e[1] !== undefined
  );
  return { flags: layer(entries, (n) => `--${n}`, true, setting), help: help === true };
}

/** Merges the layers (later wins) over the defaults. */
function clientPolicy(list: string[]): "members" | "any" | string[] {
  if (list.length === 0 || (list.length === 1 && list[0] === "members")) return "members";
  if (list.includes("any")) {
    if (list.length > 1) throw new UsageError("--clients any cannot be combined with peer IDs");
    return "any";
  }
  for (const id of list) {
    try {
      peerIdFromString(id);
    } catch {
      throw new UsageError(`--clients: ${id} is not a peer ID`);
    }
  }
  return list;
}

export function resolve(layers: Layer[]): NodeConfig {
  const merged: Layer = new Map();
  for (const l of layers) for (const [k, v] of l) merged.set(k, v);
  const str = (k: string) => merged.get(k) as string | undefined;
  const list = (k: string) => (merged.get(k) as string[] | undefined) ?? [];
  const int = (k: string) => merged.get(k) as number | undefined;
  const [httpCert, httpKey, httpCa] = [str("http-cert"), str("http-key"), str("http-ca")];
  if ((httpCert === undefined) !== (httpKey === undefined)) {
    throw new UsageError("--http-cert and --http-key go together");
  }
  if (httpCa !== undefined && httpCert === undefined) {
    throw new UsageError("--http-ca (client certificates) needs HTTPS: give --http-cert and --http-key");
  }
  return {
    data: str("data") ?? DEFAULT_DATA,
    listen: list("listen"),
    peers: list("peers"),
    http: parseHostPort(str("http") ?? DEFAULT_HTTP),
    httpCert,
    httpKey,
    httpCa,
    auth: str("auth"),
    relay: merged.get("relay") === true,
    relayVia: str("relay-via"),
    join: str("join"),
    clients: clientPolicy(list("clients")),
    fsync: (str("fsync") ?? "always") as FsyncMode,
    snapshotEntries: int("snapshot-entries"),
    electionMs: int("election-ms"),
    logFormat: (str("log-format") ?? "text") as LogFormat,
    logLevel: (str("log-level") ?? "info") as NetLogLevel,
  };
}

/** Everything together: flags, then CHISELSTORE_* from `env`, then the config file they name. */
export async function loadNodeConfig(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ config: NodeConfig; help: boolean }> {
  const { flags, help } = flagLayer(args);
  if (help) return { config: resolve([]), help };
  const fromEnv = envLayer(env);
  const path = (flags.get("config") ?? fromEnv.get("config")) as string | undefined;
  let fromFile: Layer = new Map();
  if (path !== undefined) {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      throw new UsageError(`config file ${path}: ${(err as Error).message}`);
    }
    fromFile = fileLayer(path, text);
  }
  return { config: resolve([fromFile, fromEnv, flags]), help };
}

/** The options part of `node --help`, generated from SETTINGS. */
export function settingsHelp(): string {
  const rows = SETTINGS.map((s) => [`--${s.name}${s.arg ? ` ${s.arg}` : ""}`, s.help]);
  rows.push(["-h, --help", "show this help"]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([a, h]) => `  ${a.padEnd(w)}  ${h}`).join("\n");
}
