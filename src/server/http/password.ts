/**
 * Password and token hashes for the users file. Passwords: scrypt (node:crypto, on Node and Deno) in a
 * self-describing string `scrypt$N$r$p$<salt base64>$<hash base64>`, so the cost can be raised later
 * without breaking existing entries. Tokens are long random strings, so a single SHA-256 is enough:
 * `sha256$<base64>`; only the hash is ever stored.
 */
import { Buffer } from "node:buffer";
import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";

export interface ScryptParams {
  /** CPU/memory cost, a power of two. Memory use is 128 * N * r bytes. */
  N: number;
  r: number;
  p: number;
}

/**
 * 2^15 * 8 * 128 = 32 MiB and ~50-150 ms per check: a stolen file costs an attacker that much per guess,
 * and the server pays it once per credential per cache period (auth.ts), not per request.
 */
export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 15, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;

export interface ScryptHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

function checkParams({ N, r, p }: ScryptParams): void {
  if (!Number.isInteger(N) || N < 1024 || N > 1 << 20 || (N & (N - 1)) !== 0) {
    throw new Error(`scrypt N must be a power of two from 1024 to 2^20, got ${N}`);
  }
  if (!Number.isInteger(r) || r < 1 || r > 32) throw new Error(`scrypt r must be 1..32, got ${r}`);
  if (!Number.isInteger(p) || p < 1 || p > 16) throw new Error(`scrypt p must be 1..16, got ${p}`);
}

function derive(password: string, salt: Buffer, params: ScryptParams, bytes: number): Promise<Buffer> {
  const { N, r, p } = params;
  return new Promise((resolve, reject) => {
    // maxmem: node's default (32 MiB) is exactly the default cost's need; leave room for larger ones.
    scrypt(password, salt, bytes, { N, r, p, maxmem: 256 * N * r + (1 << 20) }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeB64(text: string, what: string, minBytes: number): Buffer {
  if (!B64.test(text)) throw new Error(`${what} is not base64`);
  const out = Buffer.from(text, "base64");
  if (out.length < minBytes) {
    throw new Error(`${what} is too short (${out.length} bytes, at least ${minBytes})`);
  }
  return out;
}

/** Parses `scrypt$N$r$p$salt$hash`; throws an Error saying what is wrong. */
export function parseScrypt(text: string): ScryptHash {
  const parts = text.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") {
    throw new Error("not a scrypt hash (expected scrypt$N$r$p$salt$hash)");
  }
  const [N, r, p] = parts.slice(1, 4).map((x) => (/^\d{1,8}$/.test(x) ? Number(x) : NaN));
  checkParams({ N, r, p });
  return { N, r, p, salt: decodeB64(parts[4], "salt", 8), hash: decodeB64(parts[5], "hash", 16) };
}

/** A new hash string for the users file (random salt). */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  if (password === "") throw new Error("the password is empty");
  checkParams(params);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, params, KEY_BYTES);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/** Whether `password` matches; the comparison takes the same time wherever the bytes differ. */
export async function verifyPassword(password: string, h: ScryptHash): Promise<boolean> {
  const key = await derive(password, h.salt, h, h.hash.length);
  return timingSafeEqual(key, h.hash);
}

/** A random bearer token (256 bits, base64url). */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** The form a token is stored in: `sha256$<base64>`. */
export function hashToken(token: string): string {
  return `sha256$${tokenDigest(token).toString("base64")}`;
}

export function tokenDigest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** Parses `sha256$<base64 of 32 bytes>`. */
export function parseTokenHash(text: string): Buffer {
  const m = /^sha256\$(.+)$/.exec(text);
  if (!m) throw new Error("not a token hash (expected sha256$<base64>)");
  const digest = decodeB64(m[1], "token hash", 32);
  if (digest.length !== 32) throw new Error(`token hash must be 32 bytes, got ${digest.length}`);
  return digest;
}
