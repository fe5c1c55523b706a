/** A single in-memory node with its HTTP API, and raw HTTP helpers for the shape tests. */
import { HttpClient } from "../../src/client/http_client.ts";
import { parseJson } from "../../src/server/http/json.ts";
import { type HttpApiOptions, startHttpApi } from "../../src/server/http/mod.ts";
import { ChiselStore } from "../../src/server/node.ts";
import { waitFor } from "../net/wait.ts";

export interface Api {
  node: ChiselStore;
  url: string;
  client: HttpClient;
}

export async function withApi(fn: (api: Api) => Promise<void>, opts: HttpApiOptions = {}): Promise<void> {
  const node = await ChiselStore.start({ memory: true, tickMs: 5, electionTicks: 4 });
  const http = await startHttpApi(node, { port: 0, ...opts });
  try {
    await waitFor(() => node.isLeader(), 10_000, "the single node to lead");
    await fn({ node, url: http.url, client: new HttpClient(http.url) });
  } finally {
    await http.close();
    await node.stop();
  }
}

export interface Raw {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

/** One request; `json` is the parsed body when it is JSON (bigints kept), else undefined. */
export async function raw(
  url: string,
  method: string,
  path: string,
  body?: string | Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = {},
): Promise<Raw> {
  const res = await fetch(url + path, {
    method,
    ...(body !== undefined ? { body, headers: { "Content-Type": "application/json", ...headers } } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = parseJson(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export const post = (url: string, path: string, body: unknown) =>
  raw(url, "POST", path, JSON.stringify(body));
