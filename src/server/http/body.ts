/** Reading a request body: bounded in size, strictly UTF-8, never empty. */
import type { IncomingMessage } from "node:http";
import { HttpError } from "./errors.ts";

export const DEFAULT_MAX_BODY_BYTES = 8 << 20;

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
    // A connection cut mid-body (by the client, or by the server's request deadline in limits.ts) does not
    // always come with an "error": without this the handler would wait forever and hold the partial body.
    req.on("close", () => {
      if (ended || failed) return;
      failed = true;
      chunks.length = 0;
      reject(new HttpError(400, "the connection closed before the whole request body arrived"));
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
