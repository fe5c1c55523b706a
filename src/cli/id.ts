/** `chiselstore id`: create or load the node's identity and show the addresses it would listen on. */
import { multiaddr } from "@multiformats/multiaddr";
import { loadOrCreateIdentity } from "../net/identity.ts";
import { parsePeerAddr } from "../net/transport.ts";
import { type Command, parseFlags, UsageError } from "./command.ts";

export const DEFAULT_LISTEN = "/ip4/0.0.0.0/tcp/7400";

const USAGE = `Usage: chiselstore id --data <dir> [--listen <multiaddr>]... [--relay-via <multiaddr>]

Creates the node's Ed25519 identity in <dir>/node.key on first use (mode 0600), then prints the
peer ID (the node's id in the cluster) on the first line and, one per line, the multiaddrs the node
would listen on, each ending in /p2p/<peerId> (give these to other members as --peers).

Options:
  --data <dir>            data directory (required)
  --listen <multiaddr>    TCP listen address, repeatable (default ${DEFAULT_LISTEN})
  --relay-via <multiaddr> relay to be reachable through (adds its /p2p-circuit address)
  -h, --help              show this help`;

export const idCommand: Command = {
  summary: "create or show this node's identity (peer ID) and listen addresses",
  usage: USAGE,
  async run(args, io) {
    const { values } = parseFlags(args, {
      data: { type: "string" },
      listen: { type: "string", multiple: true },
      "relay-via": { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    if (!values.data) throw new UsageError("--data <dir> is required");
    const listen = values.listen ?? [DEFAULT_LISTEN];
    for (const a of listen) {
      try {
        multiaddr(a);
      } catch {
        throw new UsageError(`--listen: not a multiaddr: ${a}`);
      }
    }
    const relayVia = values["relay-via"];
    if (relayVia !== undefined) {
      try {
        parsePeerAddr(relayVia);
      } catch (err) {
        throw new UsageError(`--relay-via: ${(err as Error).message}`);
      }
    }
    const id = await loadOrCreateIdentity(values.data);
    io.err(`${id.created ? "created" : "loaded"} identity ${id.keyPath}`);
    io.out(id.peerId);
    for (const a of listen) io.out(`${a}/p2p/${id.peerId}`);
    if (relayVia !== undefined) io.out(`${relayVia}/p2p-circuit/p2p/${id.peerId}`);
    return 0;
  },
};
