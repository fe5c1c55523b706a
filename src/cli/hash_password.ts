/**
 * `chiselstore hash-password`: what goes into a users file. Reads a password (from a terminal without
 * echo, or the first line of piped stdin) and prints its scrypt hash; `--new-token` makes a random bearer
 * token and prints it with its hash. Secrets are never taken from the command line (they would show in ps).
 */
import process from "node:process";
import { DEFAULT_SCRYPT, hashPassword, hashToken, newToken } from "../server/http/password.ts";
import { type CliIo, type Command, defineCommand, UsageError } from "./command.ts";

const USAGE = `Usage: chiselstore hash-password [--scrypt-n <N>]
       chiselstore hash-password --new-token

Prints the scrypt hash of a password for the "password" field of a users file (--auth). The password
is read from the terminal (not echoed) or from the first line of stdin:
  echo -n 's3cret' | chiselstore hash-password
With --new-token: makes a random bearer token and prints it (line 1: give it to the client, e.g. as
CHISELSTORE_TOKEN) and its hash (line 2: for the user's "tokens" list; the node keeps only the hash).

Options:
  --scrypt-n <N>   scrypt cost, a power of two (default ${DEFAULT_SCRYPT.N}; memory 1 KiB * N)
  --new-token      make a token instead of hashing a password
  -h, --help       show this help`;

/** The first line of piped stdin. */
async function readPiped(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) {
    text += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk as Uint8Array);
    if (text.includes("\n")) break;
  }
  return text.split(/\r?\n/)[0];
}

/** A line typed on the terminal without echo (raw mode); Ctrl-C/Ctrl-D abort. */
function readHidden(io: CliIo): Promise<string> {
  io.err("Password (not echoed), then Enter:");
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let text = "";
    const done = (err?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: Uint8Array | string) => {
      for (const ch of typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk)) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003" || ch === "\u0004") return done(new Error("cancelled"));
        if (ch === "\u007f" || ch === "\b") text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.on("data", onData);
    stdin.resume();
  });
}

export const hashPasswordCommand: Command = defineCommand({
  summary: "print a password hash (or a new bearer token and its hash) for an --auth users file",
  usage: USAGE,
  options: { "scrypt-n": { type: "string" }, "new-token": { type: "boolean" } },
  maxPositionals: 0,
  async run({ values }, io) {
    if (values["new-token"] === true) {
      if (values["scrypt-n"] !== undefined) throw new UsageError("--scrypt-n is for passwords, not tokens");
      const token = newToken();
      io.out(token);
      io.out(hashToken(token));
      return 0;
    }
    const n = values["scrypt-n"] === undefined ? DEFAULT_SCRYPT.N : Number(values["scrypt-n"]);
    const params = { ...DEFAULT_SCRYPT, N: n };
    // Checked before asking for a password (hashPassword would only refuse it afterwards).
    if (!Number.isInteger(n) || n < 1024 || n > 1 << 20 || (n & (n - 1)) !== 0) {
      throw new UsageError(
        `--scrypt-n: expected a power of two from 1024 to 1048576, got ${values["scrypt-n"]}`,
      );
    }
    const password = process.stdin.isTTY ? await readHidden(io) : await readPiped();
    if (password === "") throw new Error("no password given (empty input)");
    io.out(await hashPassword(password, params));
    return 0;
  },
});
