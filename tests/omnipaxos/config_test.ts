/** Configuration validation: every invalid configuration is refused with ConfigError (brief §1, pitfall 17). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, MemoryStorage, OmniPaxos, type OmniPaxosConfig } from "../../mod.ts";
import { cluster, electLeader, pids, thrown } from "./helpers.ts";

const build = (c: OmniPaxosConfig<number>) => new OmniPaxos<number>(c, new MemoryStorage<number>());
const base: OmniPaxosConfig<number> = { pid: "a", nodes: ["a", "b", "c"] };

const invalid: [string, OmniPaxosConfig<number>][] = [
  ["empty pid", { ...base, pid: "" }],
  ["pid not in nodes", { ...base, pid: "z" }],
  ["empty node list", { ...base, nodes: [] }],
  ["duplicate node", { ...base, nodes: ["a", "b", "b"] }],
  ["empty node id", { ...base, nodes: ["a", ""] }],
  ["configurationId 0", { ...base, configurationId: 0 }],
  ["electionTicks 0", { ...base, electionTicks: 0 }],
  ["electionTicks negative", { ...base, electionTicks: -1 }],
  ["electionTicks fractional", { ...base, electionTicks: 1.5 }],
  ["resendTicks 0", { ...base, resendTicks: 0 }],
  ["flushTicks 0", { ...base, flushTicks: 0 }],
  ["batchSize 0", { ...base, batchSize: 0 }],
  ["bufferSize 0", { ...base, bufferSize: 0 }],
  ["negative leaderPriority", { ...base, leaderPriority: -1 }],
  ["quorums that do not intersect", { ...base, flexibleQuorum: { readQuorumSize: 2, writeQuorumSize: 1 } }],
  ["read + write = N", {
    ...base,
    nodes: pids(4, "x").concat("a"),
    flexibleQuorum: { readQuorumSize: 3, writeQuorumSize: 2 },
  }],
  ["write quorum 1", { ...base, flexibleQuorum: { readQuorumSize: 3, writeQuorumSize: 1 } }],
  ["read quorum above N", { ...base, flexibleQuorum: { readQuorumSize: 4, writeQuorumSize: 2 } }],
  ["read < write", {
    ...base,
    nodes: pids(4, "x").concat("a"),
    flexibleQuorum: { readQuorumSize: 2, writeQuorumSize: 4 },
  }],
  ["fractional quorum", { ...base, flexibleQuorum: { readQuorumSize: 2.5, writeQuorumSize: 2 } }],
];

for (const [name, cfg] of invalid) {
  test(`config: ${name} is a ConfigError`, () => {
    thrown(() => build(cfg), ConfigError);
  });
}

test("config: valid configurations build (single node, arbitrary string pids, valid flexible quorum)", () => {
  assert.equal(build({ pid: "solo", nodes: ["solo"] }).nodes.length, 1);
  const peer = "12D3KooWGzh9e3Lq1fQm1uxKkYeR8JAx2X5Y6bZ8sJ3YpN5z7Hc";
  assert.equal(build({ pid: peer, nodes: ["7", peer, "100"] }).pid, peer);
  const q = build({
    ...base,
    nodes: pids(7, "x").concat("a"),
    flexibleQuorum: { readQuorumSize: 6, writeQuorumSize: 3 },
  });
  assert.equal(q.nodes.length, 8);
  assert.equal(build({ ...base, configurationId: 5 }).configurationId, 5);
});

test("config: reconfigure with an invalid next configuration is a ConfigError and proposes nothing", () => {
  const c = cluster(pids(3));
  const leader = electLeader(c);
  thrown(() => c.node(leader).reconfigure([]), ConfigError);
  thrown(() => c.node(leader).reconfigure(["n1", "n1"]), ConfigError);
  thrown(() => c.node(leader).reconfigure(["n1", ""]), ConfigError);
  c.ticks(5);
  assert.equal(c.node(leader).getAcceptedIdx(), 0);
  c.propose(leader, 1); // the log is not sealed
  c.ticks(3);
  assert.equal(c.node(leader).getDecidedIdx(), 1);
});
