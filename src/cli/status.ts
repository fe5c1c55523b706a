/** `chiselstore status [url]`: a node's GET /status and GET /nodes as a readable summary (or raw JSON). */
import process from "node:process";
import { baseUrl, callApi, DEFAULT_URL, type Target } from "./api.ts";
import { type CliIo, type Command, defineCommand } from "./command.ts";
import { CONNECT_FLAGS, CONNECT_HELP, connectOptions } from "./connect_flags.ts";
import { formatTable } from "./table.ts";

const USAGE = `Usage: chiselstore status [url] [--json]

Asks a node's HTTP API (default ${DEFAULT_URL}) for its status (GET /status) and its view of the
cluster (GET /nodes), and prints: this node, the leader, its log indexes and open sessions, and one
row per member with its role, reachability, applied/decided indexes and HTTP URL (* = the node asked).

Options:
  --json                  print {"status": …, "nodes": …} as JSON instead
${CONNECT_HELP}
  -h, --help              show this help`;

type Json = Record<string, unknown>;

/** A member row from /nodes: rqlite's object keyed by id, or `{nodes: [...]}` (`?ver=2`). */
export interface MemberRow {
  id: string;
  leader: boolean;
  reachable: boolean | undefined;
  appliedIdx: number | undefined;
  decidedIdx: number | undefined;
  httpUrl: string | undefined;
  error: string | undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function obj(v: unknown): Json {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {};
}

export function memberRows(nodes: unknown): MemberRow[] {
  const inner = obj(nodes).nodes ?? nodes;
  const list: [string | undefined, Json][] = Array.isArray(inner)
    ? inner.map((n) => [undefined, obj(n)])
    : Object.entries(obj(inner)).map(([k, n]) => [k, obj(n)]);
  return list.map(([key, n]) => ({
    id: str(n.id) ?? key ?? "?",
    leader: n.leader === true,
    reachable: typeof n.reachable === "boolean" ? n.reachable : undefined,
    appliedIdx: num(n.applied_index),
    decidedIdx: num(n.decided_index),
    httpUrl: str(n.api_addr),
    error: str(n.error),
  }));
}

/** The members as a table; `self` (the node asked) is starred. */
export function formatMembers(rows: MemberRow[], self?: string): string[] {
  return formatTable(
    ["peer id", "role", "reachable", "applied", "decided", "http"],
    rows.map((r) => [
      r.id + (r.id === self ? " *" : ""),
      r.leader ? "leader" : "follower",
      r.reachable === undefined ? "?" : r.reachable ? "yes" : `no${r.error ? ` (${r.error})` : ""}`,
      r.appliedIdx ?? "",
      r.decidedIdx ?? "",
      r.httpUrl ?? "",
    ]),
  );
}

/** The summary printed by `status`, from the /status and /nodes bodies, as lines. */
export function formatStatus(status: unknown, nodes: unknown): string[] {
  const store = obj(obj(status).store);
  const raft = obj(store.raft);
  const self = str(store.node_id) ?? str(obj(obj(status).node).id) ?? "?";
  const members = Array.isArray(store.members) ? store.members.map(String) : [];
  const connected = Array.isArray(store.connected) ? store.connected.map(String) : [];
  const rows = memberRows(nodes);
  const idx = (k: string) => num(raft[k]) ?? "?";
  const lines = [
    `node       ${self}${store.is_leader === true ? " (leader)" : ""}`,
    `leader     ${str(obj(store.leader).node_id) ?? "none known"}`,
    `state      ${str(raft.state) ?? "?"}${raft.quorum_connected === false ? " (not quorum-connected)" : ""}`,
    `indexes    applied ${num(store.applied_index) ?? "?"}, decided ${idx("decided_index")}, accepted ${
      idx("accepted_index")
    }, compacted ${idx("compacted_index")}`,
    `sessions   ${connected.length} of ${Math.max(0, members.length - 1)} peers${
      connected.length > 0 ? `: ${connected.join(", ")}` : ""
    }`,
  ];
  const url = str(obj(obj(status).http).url);
  if (url) lines.push(`http       ${url}`);
  if (str(store.data_dir)) lines.push(`data       ${store.data_dir}`);
  const addrs = Array.isArray(store.multiaddrs) ? store.multiaddrs.map(String) : [];
  for (const [i, a] of addrs.entries()) lines.push(`${i === 0 ? "listening " : "          "} ${a}`);
  if (rows.length > 0) {
    const up = rows.filter((r) => r.reachable !== false).length;
    lines.push("", `Members (${rows.length}, ${up} reachable):`, ...formatMembers(rows, self));
  }
  return lines;
}

export async function printStatus(io: CliIo, target: Target, json: boolean): Promise<void> {
  const [status, nodes] = await Promise.all([
    callApi(target, "GET", "/status"),
    callApi(target, "GET", "/nodes"),
  ]);
  if (json) io.out(JSON.stringify({ status, nodes }, null, 2));
  else for (const l of formatStatus(status, nodes)) io.out(l);
}

export const statusCommand: Command = defineCommand({
  summary: "show a node's status and its view of the cluster",
  usage: USAGE,
  options: { json: { type: "boolean" }, ...CONNECT_FLAGS },
  maxPositionals: 1,
  async run({ values, positionals }, io) {
    const target = { base: baseUrl(positionals[0]), connect: await connectOptions(values, process.env) };
    await printStatus(io, target, values.json === true);
    return 0;
  },
});
