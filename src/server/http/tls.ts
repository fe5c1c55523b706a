/**
 * HTTPS for the HTTP API: a certificate and key (PEM), and optionally a CA whose client certificates the
 * server then requires (mutual TLS). Files are read and checked at start, so a wrong path or a key that
 * does not match the certificate stops the node with a clear message instead of failing every handshake.
 */
import type { Buffer } from "node:buffer";
import { readFile } from "node:fs/promises";
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";

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

/**
 * Throws when the certificate, the key or the CA is not usable (not PEM, key not the certificate's).
 * node:crypto rather than createSecureContext, which does not check the pair on Deno.
 */
export function checkTls(tls: HttpTlsOptions): void {
  const fail = (what: string, err: unknown) =>
    new Error(`TLS certificate/key not usable: ${what}: ${(err as Error).message ?? err}`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(tls.cert);
  } catch (err) {
    throw fail("the certificate is not a PEM certificate", err);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(tls.key);
  } catch (err) {
    throw fail("the key is not a PEM private key", err);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new Error("TLS certificate/key not usable: the key does not belong to the certificate");
  }
  if (tls.clientCa !== undefined) {
    try {
      new X509Certificate(tls.clientCa);
    } catch (err) {
      throw fail("the client CA is not a PEM certificate", err);
    }
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
