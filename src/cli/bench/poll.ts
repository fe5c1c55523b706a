/** Polling with a deadline (never a fixed wait), stopped early by an AbortSignal. */
import { setTimeout as sleep } from "node:timers/promises";

/** Thrown when the bench is interrupted (Ctrl-C). */
export class Interrupted extends Error {
  constructor() {
    super("interrupted");
    this.name = "Interrupted";
  }
}

/** Resolves once `cond()` is true; throws after `timeoutMs`, or Interrupted when `signal` aborts. */
export async function poll(
  cond: () => boolean | Promise<boolean>,
  opts: { timeoutMs: number; what: string; intervalMs?: number; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (opts.signal?.aborted) throw new Interrupted();
    if (await cond()) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}`);
    }
    try {
      await sleep(opts.intervalMs ?? 50, undefined, { signal: opts.signal });
    } catch {
      throw new Interrupted();
    }
  }
}
