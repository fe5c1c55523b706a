/** The soak's plan is a function of its seed (the same seed, the same rounds), and bad arguments are refused. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSoakArgs, plan, type TargetName } from "./soak_plan.ts";

const ALL: TargetName[] = ["netns", "processes", "in-process"];

test("soak: the same seed gives the same rounds and fault schedules, another seed others", () => {
  const rounds = (seed: number) => Array.from({ length: 12 }, (_, r) => plan(seed, r, ALL));
  assert.deepEqual(rounds(7), rounds(7));
  assert.notDeepEqual(rounds(7), rounds(8));
  for (const p of rounds(7)) {
    assert.ok(p.durationMs >= 15_000 && p.durationMs <= 30_000, String(p.durationMs));
    assert.ok(p.schedule.length >= 2 && p.schedule.length <= 4);
    for (const f of p.schedule) {
      assert.ok(f.atMs + f.forMs <= p.durationMs * 0.9, JSON.stringify(f)); // healed before the end
      assert.ok(f.fault.node >= 0 && f.fault.node < 3);
    }
  }
  assert.deepEqual(rounds(7).slice(0, 3).map((p) => p.workload), ["register", "bank", "set"]);
  // Only the targets offered are used, and only their fault kinds.
  for (let r = 0; r < 12; r++) {
    const p = plan(3, r, ["in-process"]);
    assert.equal(p.target, "in-process");
    assert.ok(p.schedule.every((f) => !f.fault.kind.startsWith("pause")));
  }
});

test("soak: arguments are parsed, and bad ones refused with a reason", () => {
  assert.deepEqual(parseSoakArgs(["--minutes", "2.5", "--seed", "7", "--out", "/tmp/x"]), {
    minutes: 2.5,
    seed: 7,
    out: "/tmp/x",
  });
  assert.deepEqual(parseSoakArgs(["--seed", "4"]), { minutes: 10, seed: 4, out: "chaos-soak-4" });
  assert.deepEqual(parseSoakArgs(["--targets", "processes,in-process"]).targets, ["processes", "in-process"]);
  assert.throws(() => parseSoakArgs(["--minutes", "0"]), /--minutes must be a positive number/);
  assert.throws(() => parseSoakArgs(["--seed", "1.5"]), /--seed must be a non-negative integer/);
  assert.throws(() => parseSoakArgs(["--seed"]), /--seed needs a value/);
  assert.throws(() => parseSoakArgs(["--targets", "lan"]), /unknown target\(s\) lan/);
  assert.throws(() => parseSoakArgs(["--fast"]), /unknown argument "--fast"/);
});
