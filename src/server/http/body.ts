/** Reading a request body: bounded in size, strictly UTF-8, never empty. */
import type { IncomingMessage } from "node:http";
import { HttpError } from "./errors.ts";

export const DEFAULT_MAX_BODY_BYTES = 8 << 20;

/**
 * Emitted on a request (with the message) when the client took too long to send it (limits.ts): the body
 * reader answers 408 through the handler, so the request ends like any other instead of waiting forever.
 */
export const REQUEST_DEADLINE = "chiselstore:request-deadline";

function tooLarge(max: number): HttpError {
  return new HttpError(413, `request body larger than ${max} bytes`, { Connection: "close" });
}

/** The raw body; rejects with 413 as soon as it exceeds `max` bytes (the rest is discarded, not buffered). */
export function readBody(req: IncomingMessage, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return Promise.reject(tooLarge(max));
  }
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Uint8Array) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > max) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge(max));
        return;
      }
      chunks.push(chunk);
    });
    let ended = false;
    req.on("end", () => {
      ended = true;
      if (failed) return;
      const out = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.byteLength;
      }
      resolve(out);
    });
    req.on("error", (e) => {
      if (!failed) reject(new HttpError(400, `cannot read the request body: ${e.message}`));
      failed = true;
    });
    req.once(REQUEST_DEADLINE, (message: string) => {
      if (ended || failed) return;
      failed = true;
      chunks.length = 0;
      reject(new HttpError(408, message, { Connection: "close" }));
    });
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The body as text: 400 when it is empty or not valid UTF-8. */
export async function readTextBody(req: IncomingMessage, max: number): Promise<string> {
  const bytes = await readBody(req, max);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new HttpError(400, "request body is not valid UTF-8");
  }
  if (text.trim() === "") throw new HttpError(400, "empty request body: expected a JSON array of statements");
  return text;
}
