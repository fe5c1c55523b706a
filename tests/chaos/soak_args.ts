/** The soak command's arguments: --minutes M (default 10), --seed N (default 1), --out DIR, --targets a,b. */
export interface Options {
  minutes: number;
  seed: number;
  out: string;
  targets?: ("netns" | "processes" | "in-process")[];
}

const TARGETS = ["netns", "processes", "in-process"] as const;

export function parseSoakArgs(argv: string[]): Options {
  const opts: Options = { minutes: 10, seed: 1, out: "" };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (!["--minutes", "--seed", "--out", "--targets"].includes(flag)) {
      throw new Error(
        `unknown argument "${flag}" (usage: --minutes M --seed N --out DIR [--targets netns,processes,in-process])`,
      );
    }
    if (value === undefined || value.startsWith("--")) throw new Error(`${flag} needs a value`);
    i++;
    if (flag === "--minutes") {
      opts.minutes = Number(value);
      if (!(opts.minutes > 0) || !Number.isFinite(opts.minutes)) {
        throw new Error(`--minutes must be a positive number, got "${value}"`);
      }
    } else if (flag === "--seed") {
      opts.seed = Number(value);
      if (!Number.isSafeInteger(opts.seed) || opts.seed < 0) {
        throw new Error(`--seed must be a non-negative integer, got "${value}"`);
      }
    } else if (flag === "--out") opts.out = value;
    else {
      const list = value.split(",").map((s) => s.trim());
      const bad = list.filter((t) => !(TARGETS as readonly string[]).includes(t));
      if (bad.length > 0 || list.length === 0) {
        throw new Error(`--targets: unknown target(s) ${bad.join(", ")} (use ${TARGETS.join(", ")})`);
      }
      opts.targets = list as Options["targets"];
    }
  }
  if (opts.out === "") opts.out = `chaos-soak-${opts.seed}`;
  return opts;
}
