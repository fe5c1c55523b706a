/**
 * How the client commands (status, shell, join, remove) reach a secured node: the CA to trust for https,
 * a client certificate, and credentials. Secrets can come from the environment so they stay out of `ps`:
 * CHISELSTORE_USER (name or name:password), CHISELSTORE_PASSWORD, CHISELSTORE_TOKEN, CHISELSTORE_CA.
 */
import { readFile } from "node:fs/promises";
import type { HttpConnectOptions } from "../client/http_transport.ts";
import { UsageError } from "./command.ts";

export const CONNECT_FLAGS = {
  ca: { type: "string" },
  user: { type: "string" },
  "client-cert": { type: "string" },
  "client-key": { type: "string" },
} as const;

/** The variables read here; `chiselstore node` ignores them (they are not node settings). */
export const CONNECT_ENV = [
  "CHISELSTORE_USER",
  "CHISELSTORE_PASSWORD",
  "CHISELSTORE_TOKEN",
  "CHISELSTORE_CA",
];

export const CONNECT_HELP =
  `  --ca <file>             PEM CA certificate to trust for an https URL (env CHISELSTORE_CA)
  --user <name[:pass]>    HTTP Basic credentials (env CHISELSTORE_USER; the password may come from
                          CHISELSTORE_PASSWORD instead); or a bearer token in CHISELSTORE_TOKEN
  --client-cert <file>    PEM client certificate, for a node that requires one (with --client-key)
  --client-key <file>     its PEM private key`;

async function readPem(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(`${flag} ${path}: ${(err as Error).message}`);
  }
}

/** Connection options from the parsed flags and the environment. */
export async function connectOptions(
  values: Record<string, unknown>,
  env: Record<string, string | undefined>,
): Promise<HttpConnectOptions> {
  const str = (k: string) => (typeof values[k] === "string" ? values[k] as string : undefined);
  const nonEmpty = (v: string | undefined) => (v === undefined || v === "" ? undefined : v);
  const out: HttpConnectOptions = {};
  const ca = str("ca") ?? nonEmpty(env.CHISELSTORE_CA);
  if (ca !== undefined) out.ca = await readPem(ca, "--ca");
  const cert = str("client-cert");
  const key = str("client-key");
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError("--client-cert and --client-key go together");
  }
  if (cert !== undefined && key !== undefined) {
    out.cert = await readPem(cert, "--client-cert");
    out.key = await readPem(key, "--client-key");
  }
  const user = str("user") ?? nonEmpty(env.CHISELSTORE_USER);
  const token = nonEmpty(env.CHISELSTORE_TOKEN);
  if (user !== undefined && token !== undefined) {
    throw new UsageError("give either --user (or CHISELSTORE_USER) or CHISELSTORE_TOKEN, not both");
  }
  if (token !== undefined) out.auth = { token };
  if (user !== undefined) {
    const colon = user.indexOf(":");
    const username = colon < 0 ? user : user.slice(0, colon);
    const password = colon < 0 ? env.CHISELSTORE_PASSWORD : user.slice(colon + 1);
    if (username === "") throw new UsageError("--user: the user name is empty");
    if (password === undefined || password === "") {
      throw new UsageError(
        `--user ${username}: no password (give --user ${username}:<password> or set CHISELSTORE_PASSWORD)`,
      );
    }
    out.auth = { username, password };
  }
  return out;
}
