/**
 * `chiselstore join <multiaddr>` and `chiselstore remove <peerId>`: ask a member's HTTP API to change the
 * cluster's membership (POST /cluster/join {"addr"}, POST /cluster/remove {"id"}) and print its answer.
 */
import { peerIdFromString } from "@libp2p/peer-id";
import { parsePeerAddr } from "../net/transport.ts";
import process from "node:process";
import { baseUrl, callApi, DEFAULT_URL, HttpStatusError } from "./api.ts";
import { type Command, defineCommand, UsageError } from "./command.ts";
import { CONNECT_FLAGS, CONNECT_HELP, connectOptions } from "./connect_flags.ts";

interface Change {
  name: string;
  arg: string;
  summary: string;
  describe: string;
  path: string;
  /** Checks the argument and builds the request body. */
  body(arg: string): Record<string, string>;
}

function membershipCommand(c: Change): Command {
  const usage = `Usage: chiselstore ${c.name} ${c.arg} [--url <url>]

${c.describe}

Options:
  --url <url>             HTTP API of any member (default ${DEFAULT_URL})
${CONNECT_HELP}
  -h, --help              show this help`;
  return defineCommand({
    summary: c.summary,
    usage,
    options: { url: { type: "string" }, ...CONNECT_FLAGS },
    maxPositionals: 1,
    async run({ values, positionals }, io) {
      if (positionals.length === 0) throw new UsageError(`missing ${c.arg}`);
      const body = c.body(positionals[0]);
      const target = {
        base: baseUrl(values.url as string | undefined),
        connect: await connectOptions(values, process.env),
      };
      let answer: unknown;
      try {
        answer = await callApi(target, "POST", c.path, body);
      } catch (err) {
        if (err instanceof HttpStatusError && (err.status === 404 || err.status === 405)) {
          throw new Error("this server does not support membership changes yet");
        }
        throw err;
      }
      io.out(typeof answer === "string" ? answer : JSON.stringify(answer, null, 2));
      return 0;
    },
  });
}

export const joinCommand = membershipCommand({
  name: "join",
  arg: "<multiaddr>",
  summary: "add a node (by its multiaddr ending in /p2p/<peerId>) to the cluster",
  describe:
    'Asks the cluster to add the node at <multiaddr> (as printed by `chiselstore id` or at the new node\'s\nstart) as a member: POST /cluster/join {"addr": <multiaddr>}.',
  path: "/cluster/join",
  body(addr) {
    try {
      parsePeerAddr(addr);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    return { addr };
  },
});

export const removeCommand = membershipCommand({
  name: "remove",
  arg: "<peerId>",
  summary: "remove a member (by peer ID) from the cluster",
  describe: 'Asks the cluster to remove the member <peerId>: POST /cluster/remove {"id": <peerId>}.',
  path: "/cluster/remove",
  body(id) {
    try {
      peerIdFromString(id);
    } catch {
      throw new UsageError(`not a peer ID: ${id}`);
    }
    return { id };
  },
});
