/**
 * Test certificates made with openssl at test time, in a temporary directory: a CA, a server certificate
 * for 127.0.0.1/localhost signed by it, a client certificate signed by it, and an unrelated self-signed
 * certificate. `certs()` is undefined (tests skip, with a message) when openssl is not installed.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const OPENSSL = "/usr/bin/openssl";
export const NO_OPENSSL = existsSync(OPENSSL) ? false : `${OPENSSL} not found: TLS tests skipped`;

export interface Certs {
  dir: string;
  /** Paths of the PEM files. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A self-signed certificate no one trusts, and its key. */
  otherCert: string;
  otherKey: string;
  read(path: string): string;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync(OPENSSL, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function keyAndRequest(dir: string, name: string, cn: string): void {
  openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`]);
  openssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`]);
}

function sign(dir: string, name: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ]);
}

export function makeCerts(): Certs {
  const dir = mkdtempSync(join(tmpdir(), "chiselstore-tls-"));
  openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"]);
  openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-subj",
    "/CN=chiselstore test CA",
    "-days",
    "2",
    "-out",
    "ca.pem",
  ]);
  keyAndRequest(dir, "server", "localhost");
  sign(dir, "server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  keyAndRequest(dir, "client", "test client");
  sign(dir, "client", "extendedKeyUsage=clientAuth\n");
  openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "other.key"]);
  openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    "other.key",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-days",
    "2",
    "-out",
    "other.pem",
  ]);
  const p = (f: string) => join(dir, f);
  return {
    dir,
    caCert: p("ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
    otherCert: p("other.pem"),
    otherKey: p("other.key"),
    read: (path) => readFileSync(path, "utf8"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
