/** The network layer's logging hook: hosts route it to their logger; tests collect or silence it. */
import process from "node:process";

export type NetLogLevel = "debug" | "info" | "warn" | "error";

export type NetLogger = (level: NetLogLevel, message: string) => void;

/** Default: warnings and errors to stderr, the rest dropped. */
export const stderrLogger: NetLogger = (level, message) => {
  if (level === "warn" || level === "error") process.stderr.write(`[net] ${level}: ${message}\n`);
};

export const silentLogger: NetLogger = () => {};
