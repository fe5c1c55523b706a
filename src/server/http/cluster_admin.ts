/** POST /cluster/join {"addr"} and POST /cluster/remove {"id"}: membership changes (docs/http-api.md). */
import type { IncomingMessage } from "node:http";
import type { ClusterConfig } from "../cluster_config.ts";
import type { ChiselStore } from "../node.ts";
import { readTextBody } from "./body.ts";
import { HttpError } from "./errors.ts";

async function field(req: IncomingMessage, maxBodyBytes: number, name: string): Promise<string> {
  const text = await readTextBody(req, maxBodyBytes);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `malformed JSON: ${(e as Error).message}`);
  }
  const s = (v as Record<string, unknown> | null)?.[name];
  if (typeof s !== "string" || s === "") {
    throw new HttpError(400, `expected a JSON object with a "${name}" string`);
  }
  return s;
}

function view(c: ClusterConfig) {
  return { configuration: c.configId, members: c.members, start_index: c.startIdx, addrs: c.addrs };
}

export async function join(node: ChiselStore, req: IncomingMessage, maxBodyBytes: number) {
  return view(await node.addMember(await field(req, maxBodyBytes, "addr")));
}

export async function remove(node: ChiselStore, req: IncomingMessage, maxBodyBytes: number) {
  return view(await node.removeMember(await field(req, maxBodyBytes, "id")));
}
