/** What every CLI subcommand implements; main.ts only dispatches. */
import { parseArgs, type ParseArgsConfig } from "node:util";

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

export interface Command {
  /** One line for the command list. */
  summary: string;
  /** Full help text of the subcommand. */
  usage: string;
  /** Returns the process exit code; throws UsageError for bad flags. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** Wrong flags or arguments: reported with the usage and exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** node:util parseArgs in strict mode, with its errors turned into UsageErrors. */
export function parseFlags<O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: O,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

type FlagSpec = { type: "string" | "boolean"; short?: string; multiple?: boolean };

/**
 * Flags plus at most `maxPositionals` positional arguments; `-h/--help` is always accepted. Values are
 * loosely typed (string, boolean or string[] per the spec).
 */
export function parseCommandLine(
  args: string[],
  options: Record<string, FlagSpec>,
  maxPositionals: number,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (!values.help && positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument '${positionals[maxPositionals]}'`);
  }
  return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
}

type Parsed = ReturnType<typeof parseCommandLine>;

/** A Command taking `options` and up to `maxPositionals` arguments; `--help` prints `usage` (exit 0). */
export function defineCommand(spec: {
  summary: string;
  usage: string;
  options: Record<string, FlagSpec>;
  maxPositionals: number;
  run(parsed: Parsed, io: CliIo): Promise<number>;
}): Command {
  return {
    summary: spec.summary,
    usage: spec.usage,
    async run(args, io) {
      const parsed = parseCommandLine(args, spec.options, spec.maxPositionals);
      if (parsed.values.help) {
        io.out(spec.usage);
        return 0;
      }
      return await spec.run(parsed, io);
    },
  };
}
