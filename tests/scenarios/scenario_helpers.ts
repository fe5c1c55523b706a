/**
 * Shared machinery of the partial-connectivity scenarios: a steady write load on whoever leads, and the
 * time (in election timeouts) from a fault to the first write proposed after it being decided.
 */
import assert from "node:assert/strict";
import { compareBallots, type NodeId } from "../../mod.ts";
import { SimCluster } from "../sim/cluster.ts";

export const ELECTION_TICKS = 10;

export function cluster(
  ids: NodeId[],
  seed = 7,
  priorities: Record<NodeId, number> = {},
): SimCluster<string> {
  return new SimCluster<string>({
    ids,
    seed,
    config: { electionTicks: ELECTION_TICKS, resendTicks: 2 * ELECTION_TICKS },
    configFor: (id) => ({ leaderPriority: priorities[id] ?? 0 }),
  });
}

/** Every tick, each server that believes it leads receives one client write (as clients retrying would). */
export class WriteLoad {
  #n = 0;
  readonly proposedAt = new Map<string, number>();
  readonly #c: SimCluster<string>;
  constructor(c: SimCluster<string>) {
    this.#c = c;
  }

  tick(): void {
    for (const [id, node] of this.#c.nodes) {
      if (!node.isLeader()) continue;
      const v = `w${++this.#n}@${id}`;
      this.proposedAt.set(v, this.#c.now);
      this.#c.propose(id, v);
    }
    this.#c.tick();
  }

  ticks(n: number): void {
    for (let i = 0; i < n; i++) this.tick();
  }

  /** Ticks until a write proposed at or after `since` is decided; throws after `limit` ticks. */
  untilNewWriteDecided(since: number, limit: number): number {
    const start = this.#c.now;
    for (;;) {
      for (const v of this.#c.checker.chosen.values()) {
        const t = this.proposedAt.get(String(v));
        if (t !== undefined && t >= since) return this.#c.now - since;
      }
      if (this.#c.now - start >= limit) {
        throw new Error(`no write decided within ${limit} ticks of the fault`);
      }
      this.tick();
    }
  }
}

/** Run until the cluster settles on `expected` (or any) leader with the whole write path working. */
export function settle(c: SimCluster<string>, load: WriteLoad, expected?: NodeId): NodeId {
  const since = c.now;
  load.untilNewWriteDecided(since, 20 * ELECTION_TICKS);
  const leader = c.stableLeader();
  assert.ok(leader, "a stable leader after start-up");
  if (expected) assert.equal(leader, expected);
  return leader;
}

/** Number of servers `id` can hear (itself included): quorum-connected iff that reaches a majority. */
export function connectivity(c: SimCluster<string>, id: NodeId): number {
  return 1 + c.ids.filter((o) => o !== id && c.net.isUp(id, o) && c.net.isUp(o, id)).length;
}

/**
 * Count leader changes over `ticks` ticks of load: how often the highest ballot any server has promised
 * changes (a livelock shows up as many; a late server promising the current leader is not a change).
 */
export function leaderChanges(c: SimCluster<string>, load: WriteLoad, ticks: number): number {
  const top = () => {
    let best = c.node(c.ids[0]).getPromise();
    for (const id of c.ids) {
      const p = c.node(id).getPromise();
      if (compareBallots(p, best) > 0) best = p;
    }
    return JSON.stringify(best);
  };
  let changes = 0;
  let last = top();
  for (let i = 0; i < ticks; i++) {
    load.tick();
    const now = top();
    if (now !== last) changes++;
    last = now;
  }
  return changes;
}
