/**
 * One randomized simulation run, fully determined by its seed: random cluster size and settings, a chaos
 * phase (faulty network, partial partitions, crashes and restarts, proposals, compaction, sometimes a
 * reconfiguration), then a healing phase that must bring every server to the same decided log and decide
 * fresh proposals. Safety is checked after every step; liveness at the end.
 */
import {
  BufferFullError,
  CompactionError,
  NotLeaderError,
  type OmniPaxosConfig,
  PendingReconfigError,
  type Snapshotter,
} from "../../mod.ts";
import { SimCluster } from "./cluster.ts";
import { Prng } from "./prng.ts";

export interface RunResult {
  seed: number;
  nodes: number;
  decided: number;
  proposed: number;
  crashes: number;
  ticks: number;
  reconfigured: boolean;
  /** Linearizable reads confirmed (and checked) during the chaos phase. */
  reads: number;
}

const enc = new TextEncoder();
/** Snapshots of a string log: just how many entries they cover (the checker skips snapshotted ranges). */
const countingSnapshotter: Snapshotter<string> = {
  create: (idx) => enc.encode(String(idx)),
};

function expected(e: unknown): boolean {
  return e instanceof PendingReconfigError || e instanceof BufferFullError || e instanceof CompactionError ||
    e instanceof NotLeaderError;
}

function attempt(f: () => void): void {
  try {
    f();
  } catch (e) {
    if (!expected(e)) throw e;
  }
}

export function runSeed(
  seed: number,
  opts: { chaosTicks?: number; log?: (s: string) => void } = {},
): RunResult {
  const r = new Prng(seed ^ 0x5eed);
  const n = r.pick([3, 3, 4, 5, 5, 7]);
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  const config: Partial<OmniPaxosConfig<string>> = {
    electionTicks: 3 + r.int(6),
    resendTicks: 5 + r.int(15),
    batchSize: r.pick([1, 1, 3, 8]),
    flushTicks: 1 + r.int(2),
    snapshotter: countingSnapshotter,
  };
  if (n >= 4 && r.chance(0.25)) {
    const write = Math.floor(n / 2);
    config.flexibleQuorum = { readQuorumSize: n - write + 1, writeQuorumSize: write };
  }
  const priority = new Map(ids.map((id) => [id, r.chance(0.2) ? 1 : 0]));
  // Half the runs: storage durable only once synced, driven like the node's Replica (cluster.ts).
  const syncLag = r.chance(0.5);
  const c = new SimCluster<string>({
    ids,
    seed,
    syncLag,
    config,
    configFor: (id) => ({ leaderPriority: priority.get(id) }),
  });
  const faults = {
    drop: r.pick([0, 0.01, 0.05, 0.1]),
    duplicate: r.pick([0, 0, 0.02, 0.05]),
    reorder: r.pick([0, 0.05, 0.2]),
  };
  c.net.faults = faults;
  c.checker.allowDuplicates = faults.duplicate > 0;
  const log = opts.log ?? (() => {});
  log(
    `seed ${seed}: ${n} nodes ${JSON.stringify(config)} faults ${JSON.stringify(faults)} syncLag ${syncLag}`,
  );
  let counter = 0;
  let crashes = 0;
  const reconfigAt = r.chance(0.1) ? r.int(opts.chaosTicks ?? 300) : -1;
  let reconfigured = false;
  const chaosTicks = opts.chaosTicks ?? 300;
  const reads = new ReadChecker(c);
  for (let t = 0; t < chaosTicks; t++) {
    const live = ids.filter((id) => c.isUp(id));
    if (live.length > 0 && r.chance(0.5)) {
      const at = r.pick(live);
      for (let k = 1 + r.int(3); k > 0; k--) attempt(() => c.propose(at, `${at}:${++counter}`));
    }
    // With syncLag, leaders crash more often: a crash between shipping entries and their own sync is
    // where counting an unsynced copy would lose a decided entry.
    const leaderNow = syncLag && r.chance(0.5) ? c.anyLeader() : undefined;
    if (r.chance(syncLag ? 0.04 : 0.02) && live.length > 0) {
      const v = leaderNow ?? r.pick(live);
      c.crash(v);
      crashes++;
      log(`t${c.now} crash ${v}`);
    }
    for (const id of ids) {
      if (!c.isUp(id) && r.chance(0.05)) {
        c.start(id);
        log(`t${c.now} restart ${id}`);
      }
    }
    if (r.chance(0.03)) {
      const a = r.pick(ids);
      const b = r.pick(ids);
      if (a !== b) {
        const up = r.chance(0.5);
        if (up) c.link(a, b);
        else c.net.setLink(a, b, false);
        log(`t${c.now} link ${a}-${b} ${up ? "up" : "cut"}`);
      }
    }
    if (r.chance(0.01)) {
      const leader = c.anyLeader();
      if (leader) attempt(() => c.node(leader).trim());
    }
    const up = ids.filter((id) => c.isUp(id));
    if (r.chance(0.01) && up.length > 0) attempt(() => c.node(r.pick(up)).snapshot(undefined, r.chance(0.5)));
    if (t === reconfigAt && up.length > 0) {
      attempt(() => c.node(r.pick(up)).reconfigure(ids.slice(0, Math.max(1, n - 1))));
      reconfigured = true;
      log(`t${c.now} reconfigure`);
    }
    if (r.chance(0.2)) reads.start();
    c.tick();
    reads.check();
  }
  // Heal: everyone back, a reliable network, new sessions everywhere.
  for (const id of ids) if (!c.isUp(id)) c.start(id);
  c.net.faults = { drop: 0, duplicate: 0, reorder: 0 };
  c.syncChance = { tick: 1, delivery: 1 };
  c.healAll();
  const sealed = () => ids.some((id) => c.node(id).status().stopSign !== undefined);
  const limit = 400 + 40 * (config.electionTicks ?? 10) + 10 * (config.resendTicks ?? 25);
  // Settled: one leader in the accept phase whose ballot every server's election also names.
  const settled = () => {
    const l = c.stableLeader();
    if (!l) return false;
    const p = c.node(l).getPromise();
    return ids.every((id) => {
      const b = c.node(id).status().ble.leader;
      return b.n === p.n && b.pid === p.pid && b.priority === p.priority;
    });
  };
  // ... and has stayed so for a few heartbeat rounds (ballots raised during the chaos surface only then).
  let settledSince = -1;
  const settledLong = () => {
    if (!settled()) settledSince = -1;
    else if (settledSince < 0) settledSince = c.now;
    return settledSince >= 0 && c.now - settledSince >= 3 * (config.electionTicks ?? 10);
  };
  c.until(
    () => settledLong() || sealed(),
    limit,
    `seed ${seed}: a stable leader after healing`,
    () => describe(c),
  );
  const fresh: string[] = [];
  if (!sealed()) {
    const leader = c.stableLeader()!;
    for (let k = 0; k < 3; k++) {
      const v = `fresh:${k}`;
      fresh.push(v);
      attempt(() => c.propose(leader, v));
    }
  }
  c.until(
    () => {
      const d = c.node(ids[0]).getDecidedIdx();
      if (
        !ids.every((id) => c.node(id).getDecidedIdx() === d && c.node(id).getAcceptedIdx() === d)
      ) return false;
      const got = new Set(c.decided(ids[0]));
      return sealed() || fresh.every((v) => got.has(v));
    },
    limit,
    `seed ${seed}: every server decides the same log after healing`,
    () => describe(c),
  );
  c.checkAllLogs();
  return {
    seed,
    nodes: n,
    decided: c.node(ids[0]).getDecidedIdx(),
    proposed: counter,
    crashes,
    ticks: c.now,
    reconfigured,
    reads: reads.confirmed,
  };
}

/**
 * Linearizable reads: a confirmed read must cover every entry decided anywhere before it was asked
 * (readIdx >= the highest decided index of any server at that moment).
 */
class ReadChecker {
  readonly #c: SimCluster<string>;
  readonly #pending = new Map<string, { instance: unknown; truth: number }>();
  confirmed = 0;
  constructor(c: SimCluster<string>) {
    this.#c = c;
  }

  start(): void {
    const leader = this.#c.anyLeader();
    if (!leader) return;
    const truth = Math.max(...[...this.#c.storages.values()].map((s) => s.getDecidedIdx()));
    const node = this.#c.node(leader);
    const ticket = node.confirmLeadership();
    this.#pending.set(`${leader}:${ticket}`, { instance: node, truth });
  }

  check(): void {
    for (const [id, node] of this.#c.nodes) {
      for (const r of node.takeReadConfirmations()) {
        const key = `${id}:${r.ticket}`;
        const p = this.#pending.get(key);
        if (!p || p.instance !== node) continue;
        this.#pending.delete(key);
        if ("readIdx" in r) {
          this.confirmed++;
          if (r.readIdx < p.truth) {
            throw new Error(
              `${id}: linearizable read confirmed at ${r.readIdx} but ${p.truth} was decided before it`,
            );
          }
        }
      }
    }
  }
}

/** Each server's consensus state, for failure messages. */
function describe(c: SimCluster<string>): string {
  return c.ids.map((id) => {
    const s = c.node(id).status();
    const b = (x: { n: number; pid: string }) => `${x.n}.${x.pid}`;
    return `${id}: ${s.role}/${s.phase} promise=${b(s.promise)} accRnd=${
      b(s.acceptedRound)
    } dec=${s.decidedIdx} acc=${s.acceptedIdx} cmp=${s.compactedIdx} ble=${b(s.ble.ballot)} bleLeader=${
      b(s.ble.leader)
    } qc=${s.ble.quorumConnected} ss=${s.stopSign ? "y" : "n"} ${JSON.stringify(s.counters)}${
      s.acceptedIndexes ? " accIdx=" + JSON.stringify(s.acceptedIndexes) : ""
    }`;
  }).join("\n");
}
