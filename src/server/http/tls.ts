/**
 * HTTPS for the HTTP API: a certificate and key (PEM), and optionally a CA whose client certificates the
 * server then requires (mutual TLS). Files are read and checked at start, so a wrong path or a key that
 * does not match the certificate stops the node with a clear message instead of failing every handshake.
 */
import type { Buffer } from "node:buffer";
import { readFile } from "node:fs/promises";
import { createSecureContext } from "node:tls";

export interface HttpTlsOptions {
  /** PEM certificate chain. */
  cert: string | Buffer;
  /** PEM private key of the certificate. */
  key: string | Buffer;
  /** PEM CA certificate(s): when set, clients must present a certificate signed by one of them. */
  clientCa?: string | Buffer;
}

export interface HttpTlsFiles {
  cert: string;
  key: string;
  clientCa?: string;
}

async function read(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as Error).message}`);
  }
}

/** Throws when the certificate, the key or the CA is not usable (not PEM, key does not match, ...). */
export function checkTls(tls: HttpTlsOptions): void {
  try {
    createSecureContext({ cert: tls.cert, key: tls.key, ...(tls.clientCa ? { ca: tls.clientCa } : {}) });
  } catch (err) {
    throw new Error(`TLS certificate/key not usable: ${(err as Error).message}`);
  }
}

/** Reads and checks the files named by --http-cert, --http-key and --http-ca. */
export async function loadTls(files: HttpTlsFiles): Promise<HttpTlsOptions> {
  const tls: HttpTlsOptions = {
    cert: await read(files.cert, "TLS certificate"),
    key: await read(files.key, "TLS key"),
    ...(files.clientCa !== undefined ? { clientCa: await read(files.clientCa, "TLS client CA") } : {}),
  };
  checkTls(tls);
  return tls;
}
