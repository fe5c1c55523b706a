/**
 * The users file of the HTTP API, in the style of rqlite's auth file: a JSON array of
 *   {"username": "alice", "password": "scrypt$…", "perms": ["query", "execute"]}
 *   {"username": "ci", "tokens": ["sha256$…"], "perms": ["all"]}
 *   {"username": "*", "perms": ["ready"]}
 * "*" holds the permissions of everybody, anonymous requests included. Passwords must be scrypt hashes
 * (`chiselstore hash-password`): a plaintext password is refused, so a leaked file never leaks a password.
 * Every problem is reported with the entry it is in, and nothing is half-loaded.
 */
import { Buffer } from "node:buffer";
import { readFile } from "node:fs/promises";
import { parseScrypt, parseTokenHash, type ScryptHash } from "./password.ts";

/** What a request may do; "all" in a file grants every one of them. */
export const PERMISSIONS = ["execute", "query", "status", "ready", "join", "remove"] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface User {
  name: string;
  password: ScryptHash | undefined;
  perms: ReadonlySet<Permission>;
}

export interface Users {
  /** By name; "*" is not in here. */
  byName: ReadonlyMap<string, User>;
  /** Users by the hex SHA-256 of their tokens. */
  byToken: ReadonlyMap<string, User>;
  /** The "*" entry's permissions: granted to anonymous requests and added to every user's. */
  everyone: ReadonlySet<Permission>;
}

export class UsersFileError extends Error {
  override name = "UsersFileError";
}

const KEYS = new Set(["username", "password", "tokens", "perms"]);

function parsePerms(v: unknown, where: string): Set<Permission> {
  if (!Array.isArray(v) || !v.every((p) => typeof p === "string")) {
    throw new UsersFileError(`${where}: "perms" must be an array of strings`);
  }
  const out = new Set<Permission>();
  for (const p of v as string[]) {
    if (p === "all") { for (const q of PERMISSIONS) out.add(q); }
    else if ((PERMISSIONS as readonly string[]).includes(p)) out.add(p as Permission);
    else {throw new UsersFileError(
        `${where}: unknown permission "${p}" (known: all, ${PERMISSIONS.join(", ")})`,
      );}
  }
  return out;
}

/** Parses the file's text; `source` names it in errors. */
export function parseUsers(text: string, source = "users file"): Users {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsersFileError(`${source}: not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new UsersFileError(`${source}: expected a JSON array of users`);
  const byName = new Map<string, User>();
  const byToken = new Map<string, User>();
  let everyone = new Set<Permission>();
  let sawEveryone = false;
  for (const [i, entry] of data.entries()) {
    let where = `${source}: entry ${i}`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new UsersFileError(`${where}: expected an object`);
    }
    const e = entry as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (!KEYS.has(k)) throw new UsersFileError(`${where}: unknown key "${k}"`);
    }
    const name = e.username;
    if (typeof name !== "string" || name === "") throw new UsersFileError(`${where}: "username" is missing`);
    // Basic credentials are "name:password": a colon in the name could never log in.
    if (name.includes(":")) throw new UsersFileError(`${where}: a username cannot contain ":"`);
    where = `${source}: user "${name}"`;
    if (byName.has(name) || (name === "*" && sawEveryone)) throw new UsersFileError(`${where}: listed twice`);
    const perms = parsePerms(e.perms ?? [], where);
    if (name === "*") {
      if (e.password !== undefined || e.tokens !== undefined) {
        throw new UsersFileError(`${where}: "*" stands for everybody and takes no password or tokens`);
      }
      everyone = perms;
      sawEveryone = true;
      continue;
    }
    let password: ScryptHash | undefined;
    if (e.password !== undefined) {
      if (typeof e.password !== "string") throw new UsersFileError(`${where}: "password" must be a string`);
      if (!e.password.startsWith("scrypt$")) {
        throw new UsersFileError(
          `${where}: "password" is not a scrypt hash; plaintext passwords are refused: ` +
            "store the output of `chiselstore hash-password`",
        );
      }
      try {
        password = parseScrypt(e.password);
      } catch (err) {
        throw new UsersFileError(`${where}: "password": ${(err as Error).message}`);
      }
    }
    const user: User = { name, password, perms };
    const tokens = e.tokens ?? [];
    if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === "string")) {
      throw new UsersFileError(`${where}: "tokens" must be an array of strings`);
    }
    for (const t of tokens as string[]) {
      let digest: Buffer;
      try {
        digest = parseTokenHash(t);
      } catch (err) {
        throw new UsersFileError(
          `${where}: "tokens": ${
            (err as Error).message
          }; store the hash from \`chiselstore hash-password --new-token\``,
        );
      }
      const key = digest.toString("hex");
      if (byToken.has(key)) throw new UsersFileError(`${where}: a token is listed twice`);
      byToken.set(key, user);
    }
    if (password === undefined && tokens.length === 0) {
      throw new UsersFileError(`${where}: needs a "password" or "tokens" to log in with`);
    }
    byName.set(name, user);
  }
  return { byName, byToken, everyone };
}

/** Reads and parses a users file. */
export async function loadUsers(path: string): Promise<Users> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new UsersFileError(`users file ${path}: ${(err as Error).message}`);
  }
  return parseUsers(text, `users file ${path}`);
}
