/** Exponential backoff with full jitter for redials: spreads reconnect storms after a partition heals. */

export interface BackoffOptions {
  /** First delay (before jitter), ms. Default 100. */
  initialMs?: number;
  /** Upper bound of the delay, ms. Default 10_000. */
  maxMs?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
  /** Fraction of the delay that is randomised, in [0, 1]. Default 0.5. */
  jitter?: number;
  /** Injectable for deterministic tests. Default Math.random. */
  random?: () => number;
}

export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.#initial = opts.initialMs ?? 100;
    this.#max = opts.maxMs ?? 10_000;
    this.#factor = opts.factor ?? 2;
    this.#jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
    this.#random = opts.random ?? Math.random;
    if (!(this.#initial > 0 && this.#max >= this.#initial && this.#factor >= 1)) {
      throw new RangeError("backoff needs 0 < initialMs <= maxMs and factor >= 1");
    }
  }

  /** Failed attempts since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const base = Math.min(this.#max, this.#initial * this.#factor ** this.#attempt);
    this.#attempt++;
    return Math.round(base * (1 - this.#jitter * this.#random()));
  }

  /** Call after a success: the next failure starts from the initial delay again. */
  reset(): void {
    this.#attempt = 0;
  }
}
