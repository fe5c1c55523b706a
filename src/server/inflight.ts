/**
 * Request ids for one client namespace, with acknowledgements (docs/store.md, "Acknowledgements"): each new
 * id carries ackBelow = the smallest seq of this namespace still in flight (its own included), so the store
 * can forget every answered result and needs no limit on how many requests are in flight at once.
 */
import type { RequestId } from "../store/command.ts";

export class RequestIds {
  readonly clientId: string;
  readonly #inFlight = new Set<number>();
  #next = 1;
  /** Every seq below this one is answered: the smallest seq that may still be in flight. */
  #low = 1;

  constructor(clientId: string) {
    this.clientId = clientId;
  }

  /** How many ids are handed out and not yet answered. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Run `fn` with `given` as it is (a caller's own id: its namespace, its acknowledgements), or with a fresh
   * id that counts as in flight until `fn` settles (resolved, failed or timed out: answered either way).
   */
  async use<T>(given: RequestId | undefined, fn: (id: RequestId) => Promise<T>): Promise<T> {
    if (given) return await fn(given);
    const seq = this.#next++;
    this.#inFlight.add(seq);
    try {
      return await fn({ clientId: this.clientId, seq, ackBelow: this.#lowest() });
    } finally {
      this.#inFlight.delete(seq);
    }
  }

  #lowest(): number {
    // Seqs are handed out in order, so the watermark only moves up: amortised O(1) per id.
    while (this.#low < this.#next && !this.#inFlight.has(this.#low)) this.#low++;
    return this.#low;
  }
}
