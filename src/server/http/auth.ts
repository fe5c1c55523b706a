/**
 * Who is asking, and may they? Requests carry `Authorization: Basic <user:password>` or
 * `Authorization: Bearer <token>`, or nothing (anonymous: the "*" entry's permissions). Wrong or malformed
 * credentials are a 401 (never a fallback to anonymous); a known user without the permission is a 403;
 * an anonymous request without it is a 401, so a browser asks for a password.
 *
 * Costs and leaks: a password check is one scrypt (tens of ms, on the thread pool). An unknown user costs
 * the same scrypt against a dummy hash, so timing does not tell which names exist. Checks run at most
 * MAX_HASHING at a time (the thread pool also serves the log's file I/O), and a verified password is
 * remembered for `cacheMs` under a keyed hash of the header, so a client sending the same header on every
 * request pays scrypt once per period. Failures are never cached.
 */
import { Buffer } from "node:buffer";
import { createHmac, randomBytes } from "node:crypto";
import { HttpError } from "./errors.ts";
import { DEFAULT_SCRYPT, type ScryptHash, tokenDigest, verifyPassword } from "./password.ts";
import type { Permission, User, Users } from "./users.ts";

export interface Principal {
  /** undefined: anonymous. */
  name: string | undefined;
  perms: ReadonlySet<Permission>;
}

export interface AuthOptions {
  /** How long a verified password stays verified. Default 60 s; 0 disables the cache. */
  cacheMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

const REALM = `realm="chiselstore"`;
/** Sent with every 401: Basic first, so browsers (the dashboard) prompt for a password. */
export const CHALLENGE = `Basic ${REALM}, charset="UTF-8", Bearer ${REALM}`;
const MAX_CACHE = 1024;
const MAX_HASHING = 2;

export class Authenticator {
  readonly #users: Users;
  readonly #cacheMs: number;
  readonly #now: () => number;
  readonly #cacheKey = randomBytes(32);
  readonly #cache = new Map<string, { user: User; until: number }>();
  readonly #dummy: ScryptHash = {
    ...DEFAULT_SCRYPT,
    salt: randomBytes(16),
    hash: randomBytes(32),
  };
  #hashing = 0;
  #checks = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(users: Users, opts: AuthOptions = {}) {
    this.#users = users;
    this.#cacheMs = opts.cacheMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
  }

  /** How many scrypt checks ran (cache misses, unknown users included): for metrics and tests. */
  get passwordChecks(): number {
    return this.#checks;
  }

  /** The principal for a request's Authorization header; throws 401 when it is present but not valid. */
  async authenticate(header: string | undefined): Promise<Principal> {
    if (header === undefined || header === "") return { name: undefined, perms: this.#users.everyone };
    const m = /^(\S+)\s+(\S.*)$/.exec(header.trim());
    const scheme = m?.[1].toLowerCase();
    let user: User | undefined;
    if (m && scheme === "bearer") {
      user = this.#users.byToken.get(tokenDigest(m[2]).toString("hex"));
    } else if (m && scheme === "basic") {
      user = await this.#basic(header.trim(), m[2]);
    } else {
      throw unauthorized("unsupported Authorization header (use Basic or Bearer)");
    }
    if (!user) throw unauthorized("invalid credentials");
    return { name: user.name, perms: new Set([...user.perms, ...this.#users.everyone]) };
  }

  /** Throws 401/403 unless `who` holds every one of `perms`. */
  authorize(who: Principal, perms: Iterable<Permission>): void {
    const missing = [...new Set(perms)].filter((p) => !who.perms.has(p));
    if (missing.length === 0) return;
    if (who.name === undefined) {
      throw unauthorized(`authentication required (permission ${missing.join(", ")})`);
    }
    throw new HttpError(403, `user ${who.name} lacks permission ${missing.join(", ")}`);
  }

  async #basic(header: string, encoded: string): Promise<User | undefined> {
    const key = createHmac("sha256", this.#cacheKey).update(header).digest("base64");
    const hit = this.#cache.get(key);
    if (hit && hit.until > this.#now()) return hit.user;
    this.#cache.delete(key);
    const text = Buffer.from(encoded, "base64").toString("utf8");
    const colon = text.indexOf(":");
    if (colon < 0) throw unauthorized("malformed Basic credentials");
    const user = this.#users.byName.get(text.slice(0, colon));
    const ok = await this.#limited(() =>
      verifyPassword(text.slice(colon + 1), user?.password ?? this.#dummy)
    );
    if (!ok || !user?.password) return undefined;
    if (this.#cacheMs > 0) {
      if (this.#cache.size >= MAX_CACHE) this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(key, { user, until: this.#now() + this.#cacheMs });
    }
    return user;
  }

  async #limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#hashing >= MAX_HASHING) await new Promise<void>((r) => this.#waiting.push(r));
    this.#hashing++;
    this.#checks++;
    try {
      return await fn();
    } finally {
      this.#hashing--;
      this.#waiting.shift()?.();
    }
  }
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, message, { "WWW-Authenticate": CHALLENGE });
}
