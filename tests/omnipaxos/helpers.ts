/**
 * Shared helpers for the consensus-core tests: clusters of numeric-entry servers on the simulated network,
 * a message tap that records and selectively drops what servers send, a summing snapshotter, a storage
 * that fails on demand, and checks of what a Storage holds.
 */
import assert from "node:assert/strict";
import {
  type Ballot,
  compareBallots,
  MemoryStorage,
  type Message,
  type NodeId,
  type OmniPaxosConfig,
  type Snapshotter,
  type Storage,
  StorageError,
  type StorageOp,
} from "../../mod.ts";
import { SimCluster, type SimClusterOptions } from "../sim/cluster.ts";

/** One heartbeat round per tick, quick resends, flush every tick: scenarios settle in few ticks. */
export const FAST: Partial<OmniPaxosConfig<number>> = { electionTicks: 1, resendTicks: 5, flushTicks: 1 };

export function pids(n: number, prefix = "n"): NodeId[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
}

export function cluster(
  ids: NodeId[],
  config: Partial<OmniPaxosConfig<number>> = {},
  extra: Omit<SimClusterOptions<number>, "ids" | "config"> = {},
): SimCluster<number> {
  return new SimCluster<number>({ ids, config: { ...FAST, ...config }, ...extra });
}

/** Leader priority = the number in the pid: n{size} leads first, n{size-1} takes over when it crashes. */
export function prioritized(
  size: number,
  config: Partial<OmniPaxosConfig<number>> = {},
  extra: Omit<SimClusterOptions<number>, "ids" | "config" | "configFor"> = {},
): SimCluster<number> {
  return cluster(pids(size), config, {
    ...extra,
    configFor: (id) => ({ leaderPriority: Number(id.slice(1)) }),
  });
}

export function live(c: SimCluster<number>): NodeId[] {
  return [...c.nodes.keys()];
}

/** Tick until the servers `among` follow one of them, a leader in its accept phase; returns that leader. */
export function electLeader(c: SimCluster<number>, limit = 100, among: NodeId[] = live(c)): NodeId {
  const leader = () => {
    const l = c.stableLeader(among);
    return l !== undefined && among.includes(l) ? l : undefined;
  };
  c.until(() => leader() !== undefined, limit, "a stable leader", () => describe(c));
  return leader()!;
}

/** Propose values [from, from + count) at `via`, one after the other; returns them. */
export function proposeRange(c: SimCluster<number>, via: NodeId, from: number, count: number): number[] {
  const vs = Array.from({ length: count }, (_, i) => from + i);
  for (const v of vs) c.propose(via, v);
  return vs;
}

/** Cut every link of `id` (silently: no reconnect notifications). */
export function isolate(c: SimCluster<number>, id: NodeId): void {
  for (const o of c.ids) if (o !== id) c.net.setLink(id, o, false);
}

/** Three servers with a message tap, an elected leader and one of its followers. */
export function tappedTrio(config: Partial<OmniPaxosConfig<number>> = {}) {
  const ids = pids(3);
  const c = cluster(ids, config);
  const tap = new Tap(c);
  const leader = electLeader(c);
  const f = ids.find((id) => id !== leader)!;
  return { ids, c, tap, leader, f };
}

/** Propose values [from, from + count) at `via`, one per tick; returns them. */
export function trickle(c: SimCluster<number>, via: NodeId, from: number, count: number): number[] {
  const vs: number[] = [];
  for (let v = from; v < from + count; v++) {
    c.propose(via, v);
    vs.push(v);
    c.tick();
  }
  return vs;
}

/** Tick until every server in `among` has decided at least `idx` slots. */
export function waitDecided(
  c: SimCluster<number>,
  idx: number,
  among: NodeId[] = live(c),
  limit = 500,
): void {
  c.until(
    () => among.every((id) => c.node(id).getDecidedIdx() >= idx),
    limit,
    `decided index ${idx} on ${among.join(",")}`,
    () => describe(c),
  );
}

export function describe(c: SimCluster<number>): string {
  return [...c.nodes].map(([id, n]) => {
    const s = n.status();
    return `${id}: ${s.role}/${s.phase} promise=${JSON.stringify(s.promise)} decided=${s.decidedIdx} ` +
      `accepted=${s.acceptedIdx} compacted=${s.compactedIdx} leader=${s.leader}`;
  }).join("\n");
}

/** Every server's decided log equals `expected` (and so they are equal to each other). */
export function assertDecidedLogs(
  c: SimCluster<number>,
  expected: number[],
  among: NodeId[] = live(c),
): void {
  for (const id of among) assert.deepEqual(c.decided(id), expected, `decided log of ${id}`);
}

/**
 * Records every message servers hand to the network and drops those `drop` selects. Installed on the
 * cluster's network, so it sees messages after the sending server's writes (as a host would send them).
 */
export class Tap<T = number> {
  readonly sent: Message<T>[] = [];
  readonly dropped: Message<T>[] = [];
  drop: ((m: Message<T>) => boolean) | undefined;

  constructor(c: SimCluster<T>) {
    const net = c.net;
    const send = net.send.bind(net);
    net.send = (m: Message<T>) => {
      this.sent.push(m);
      if (this.drop?.(m)) this.dropped.push(m);
      else send(m);
    };
  }

  of<K extends Message<T>["type"]>(
    type: K,
    from?: NodeId,
    to?: NodeId,
    inList: Message<T>[] = this.sent,
  ): Extract<Message<T>, { type: K }>[] {
    return inList.filter((m): m is Extract<Message<T>, { type: K }> =>
      m.type === type && (from === undefined || m.from === from) && (to === undefined || m.to === to)
    );
  }

  droppedOf<K extends Message<T>["type"]>(type: K, from?: NodeId, to?: NodeId) {
    return this.of(type, from, to, this.dropped);
  }

  /** Drop the first `count` messages of `type` from → to, then let them pass. */
  dropFirst(type: Message<T>["type"], from: NodeId | undefined, to: NodeId | undefined, count = 1): void {
    let left = count;
    this.drop = (m) => {
      if (
        left > 0 && m.type === type && (from === undefined || m.from === from) &&
        (to === undefined || m.to === to)
      ) {
        left--;
        return true;
      }
      return false;
    };
  }
}

/** Snapshots of a numeric log: the sum of all entries, as an 8-byte float. */
export const sumSnapshotter: Snapshotter<number> = {
  create(_idx, entries, base) {
    let sum = base ? decodeSum(base) : 0;
    for (const e of entries) sum += e;
    return encodeSum(sum);
  },
};

export function encodeSum(sum: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, sum);
  return b;
}

export function decodeSum(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat64(0);
}

export function sum(vs: number[]): number {
  return vs.reduce((a, b) => a + b, 0);
}

export function ballot(n: number, pid: NodeId, priority = 0): Ballot {
  return { n, priority, pid };
}

/** A MemoryStorage with the given operations already written (a server's state before it starts). */
export function seeded(ops: StorageOp<number>[]): MemoryStorage<number> {
  const s = new MemoryStorage<number>();
  if (ops.length > 0) s.write(ops);
  return s;
}

/** A disk that dies on demand: after `failAt(k)`, the k-th write and every one after it throw. */
export class FailingStorage extends MemoryStorage<number> {
  #countdown = 0;
  writes = 0;
  failed = false;

  failAt(k: number): void {
    this.#countdown = k;
    this.failed = false;
  }

  repair(): void {
    this.#countdown = 0;
    this.failed = false;
  }

  override write(ops: readonly StorageOp<number>[]): void {
    if (this.failed || (this.#countdown > 0 && --this.#countdown === 0)) {
      this.failed = true;
      throw new StorageError("injected storage failure");
    }
    this.writes++;
    super.write(ops);
  }
}

export interface StoredState {
  promise: Ballot | undefined;
  acceptedRound: Ballot | undefined;
  decidedIdx: number;
  compactedIdx: number;
  logLen: number;
  /** Log length as if never compacted, the stop sign included. */
  acceptedIdx: number;
  log: number[];
  hasStopSign: boolean;
  snapshotIdx: number | undefined;
}

export function stored(s: Storage<number>): StoredState {
  const compactedIdx = s.getCompactedIdx();
  const logLen = s.getLogLen();
  const hasStopSign = s.getStopSign() !== undefined;
  return {
    promise: s.getPromise(),
    acceptedRound: s.getAcceptedRound(),
    decidedIdx: s.getDecidedIdx(),
    compactedIdx,
    logLen,
    acceptedIdx: compactedIdx + logLen + (hasStopSign ? 1 : 0),
    log: s.getEntries(compactedIdx, compactedIdx + logLen),
    hasStopSign,
    snapshotIdx: s.getSnapshot()?.idx,
  };
}

/** The on-disk invariants of storage.ts / brief §5. */
export function assertStoredInvariants(s: StoredState, who: string): void {
  assert.ok(s.decidedIdx <= s.acceptedIdx, `${who}: decided ${s.decidedIdx} > accepted ${s.acceptedIdx}`);
  assert.ok(s.compactedIdx <= s.decidedIdx, `${who}: compacted ${s.compactedIdx} > decided ${s.decidedIdx}`);
  if (s.acceptedRound) {
    assert.ok(s.promise, `${who}: accepted round without a promise`);
    assert.ok(compareBallots(s.acceptedRound, s.promise) <= 0, `${who}: accepted round above promise`);
  }
  if (s.snapshotIdx !== undefined) {
    assert.equal(s.snapshotIdx, s.compactedIdx, `${who}: snapshot does not end at the compacted index`);
  }
}

/** Run `f`, expecting it to throw an instance of `cls`; returns the error for further checks. */
export function thrown<E extends Error>(f: () => void, cls: new (...args: never[]) => E): E {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    return e;
  }
  assert.fail(`expected ${cls.name}, nothing was thrown`);
}
