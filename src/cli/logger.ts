/**
 * The node's log lines on stderr: `2026-11-30T05:00:00.000Z INFO leader is now …` by default, or one JSON
 * object per line (`{"time":…,"level":"info","msg":…}`) with --log-format json. Plugs into the node's log
 * hook (ChiselStoreOptions.log), so the node's and the network layer's messages come out the same way.
 */
import type { NetLogger, NetLogLevel } from "../net/log.ts";

export type LogFormat = "text" | "json";

export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];
export const LOG_LEVELS: readonly NetLogLevel[] = ["debug", "info", "warn", "error"];

/** One log record as a line (without the newline). */
export function formatLogLine(format: LogFormat, time: Date, level: NetLogLevel, message: string): string {
  if (format === "json") return JSON.stringify({ time: time.toISOString(), level, msg: message });
  return `${time.toISOString()} ${level.toUpperCase()} ${message}`;
}

/** A logger dropping records below `minLevel` and writing the rest through `write`. */
export function makeLogger(
  opts: { format: LogFormat; minLevel: NetLogLevel; write: (line: string) => void; now?: () => Date },
): NetLogger {
  const min = LOG_LEVELS.indexOf(opts.minLevel);
  const now = opts.now ?? (() => new Date());
  return (level, message) => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    opts.write(formatLogLine(opts.format, now(), level, message));
  };
}
