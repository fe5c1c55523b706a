/**
 * In-memory Storage: for tests, simulations and ephemeral (edge) use. Writes are validated in full before
 * any is applied, so a rejected batch changes nothing.
 */
import { type Ballot, copyBallot } from "./ballot.ts";
import { StorageError } from "./errors.ts";
import type { Storage, StorageOp } from "./storage.ts";
import type { SnapshotData, StopSign } from "./types.ts";

export class MemoryStorage<T> implements Storage<T> {
  #log: T[] = [];
  #compactedIdx = 0;
  #decidedIdx = 0;
  #promise: Ballot | undefined;
  #acceptedRound: Ballot | undefined;
  #stopSign: StopSign | undefined;
  #snapshot: SnapshotData | undefined;

  write(ops: readonly StorageOp<T>[]): void {
    this.#validate(ops);
    for (const op of ops) this.#apply(op);
  }

  /** Checks each operation against the state the preceding ones would leave. */
  #validate(ops: readonly StorageOp<T>[]): void {
    let compacted = this.#compactedIdx;
    let end = compacted + this.#log.length;
    for (const op of ops) {
      switch (op.op) {
        case "append":
          end += op.entries.length;
          break;
        case "appendOnPrefix":
          if (op.from < compacted || op.from > end) {
            throw new StorageError(
              `appendOnPrefix from ${op.from} outside stored range [${compacted}, ${end}]`,
            );
          }
          end = op.from + op.entries.length;
          break;
        case "trim":
          if (op.idx < compacted) {
            throw new StorageError(`trim to ${op.idx} below compacted index ${compacted}`);
          }
          compacted = op.idx;
          end = Math.max(end, compacted);
          break;
        case "setDecidedIdx":
          if (!Number.isSafeInteger(op.idx) || op.idx < 0) {
            throw new StorageError(`bad decided index ${op.idx}`);
          }
          break;
        default:
          break;
      }
    }
  }

  #apply(op: StorageOp<T>): void {
    switch (op.op) {
      case "append":
        for (const e of op.entries) this.#log.push(e);
        break;
      case "appendOnPrefix":
        this.#log.length = op.from - this.#compactedIdx;
        for (const e of op.entries) this.#log.push(e);
        break;
      case "setPromise":
        this.#promise = copyBallot(op.ballot);
        break;
      case "setAcceptedRound":
        this.#acceptedRound = copyBallot(op.ballot);
        break;
      case "setDecidedIdx":
        this.#decidedIdx = op.idx;
        break;
      case "setStopSign":
        this.#stopSign = op.ss;
        break;
      case "trim": {
        const drop = Math.min(op.idx - this.#compactedIdx, this.#log.length);
        if (drop > 0) this.#log.splice(0, drop);
        if (op.idx - this.#compactedIdx > drop) this.#log.length = 0;
        this.#compactedIdx = op.idx;
        break;
      }
      case "setSnapshot":
        this.#snapshot = op.snapshot;
        break;
    }
  }

  getPromise(): Ballot | undefined {
    return this.#promise;
  }
  getAcceptedRound(): Ballot | undefined {
    return this.#acceptedRound;
  }
  getDecidedIdx(): number {
    return this.#decidedIdx;
  }
  getCompactedIdx(): number {
    return this.#compactedIdx;
  }
  getLogLen(): number {
    return this.#log.length;
  }
  getEntries(from: number, to: number): T[] {
    const end = this.#compactedIdx + this.#log.length;
    if (from < this.#compactedIdx || to > end || from > to) {
      throw new StorageError(`entries [${from}, ${to}) outside stored range [${this.#compactedIdx}, ${end}]`);
    }
    return this.#log.slice(from - this.#compactedIdx, to - this.#compactedIdx);
  }
  getStopSign(): StopSign | undefined {
    return this.#stopSign;
  }
  getSnapshot(): SnapshotData | undefined {
    return this.#snapshot;
  }
}
