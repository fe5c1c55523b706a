/**
 * Callers waiting for their command to be applied, keyed by request id. The applier resolves them with
 * the state machine's result (a retried request gets the first application's result).
 */
import { decodeCommand, type RequestId } from "../store/command.ts";
import type { CommandResult } from "../store/results.ts";
import { NodeError } from "./errors.ts";

interface Waiter {
  resolve(r: CommandResult): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

const key = (id: RequestId) => `${id.clientId}\u0000${id.seq}`;

export class PendingRequests {
  readonly #waiters = new Map<string, Waiter[]>();

  get size(): number {
    return this.#waiters.size;
  }

  /** Wait for `id` to be applied, at most until `deadline` (then a NodeError "timeout"). */
  wait(id: RequestId, deadline: number): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const k = key(id);
      const timer = setTimeout(() => {
        this.#remove(k, w);
        reject(
          new NodeError("timeout", `request ${id.clientId}/${id.seq} was not applied before its deadline`),
        );
      }, Math.max(1, deadline - Date.now()));
      const w: Waiter = { resolve, reject, timer };
      const list = this.#waiters.get(k);
      if (list) list.push(w);
      else this.#waiters.set(k, [w]);
    });
  }

  cancel(id: RequestId): void {
    const k = key(id);
    for (const w of this.#waiters.get(k) ?? []) clearTimeout(w.timer);
    this.#waiters.delete(k);
  }

  /** An entry was applied: wake whoever waits for its request id. */
  resolve(entry: Uint8Array, result: CommandResult): void {
    if (this.#waiters.size === 0) return;
    let k: string;
    try {
      k = key(decodeCommand(entry).requestId);
    } catch {
      return; // an undecodable entry has no waiter
    }
    const list = this.#waiters.get(k);
    if (!list) return;
    this.#waiters.delete(k);
    for (const w of list) {
      clearTimeout(w.timer);
      w.resolve(result);
    }
  }

  /** Fail every waiter (leadership lost, node stopping): callers decide whether to retry. */
  failAll(err: NodeError): void {
    for (const list of this.#waiters.values()) {
      for (const w of list) {
        clearTimeout(w.timer);
        w.reject(err);
      }
    }
    this.#waiters.clear();
  }

  #remove(k: string, w: Waiter): void {
    const list = this.#waiters.get(k);
    if (!list) return;
    const rest = list.filter((x) => x !== w);
    if (rest.length === 0) this.#waiters.delete(k);
    else this.#waiters.set(k, rest);
  }
}
