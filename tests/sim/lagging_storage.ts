/**
 * A MemoryStorage whose writes become durable only at `sync()`, like FileStorage: a crash keeps what was
 * synced plus any prefix of the later write batches (a commit in flight may or may not have landed). The
 * simulation uses it to check the host's release rules (docs/protocol.md, "Leader durability"): which
 * messages may leave before the sync that covers them, and that a leader's unsynced log never counts.
 */
import { MemoryStorage, type StorageOp } from "../../mod.ts";
import type { Prng } from "./prng.ts";

export class LaggingStorage<T> extends MemoryStorage<T> {
  /** Every batch ever written, in order; the first `#synced` of them are durable. */
  readonly #batches: (readonly StorageOp<T>[])[];
  #synced: number;

  constructor(batches: (readonly StorageOp<T>[])[] = []) {
    super();
    for (const ops of batches) super.write(ops);
    this.#batches = [...batches];
    this.#synced = batches.length;
  }

  override write(ops: readonly StorageOp<T>[]): void {
    super.write(ops);
    this.#batches.push(structuredClone(ops));
  }

  /** How many batches were written so far: pass it to `syncTo` to make exactly those durable. */
  get written(): number {
    return this.#batches.length;
  }

  syncTo(written: number): void {
    this.#synced = Math.max(this.#synced, Math.min(written, this.#batches.length));
  }

  /** The storage a restart finds: the synced batches and a random prefix of the rest. */
  afterCrash(rng: Prng): LaggingStorage<T> {
    const extra = rng.int(this.#batches.length - this.#synced + 1);
    return new LaggingStorage(this.#batches.slice(0, this.#synced + extra));
  }
}
