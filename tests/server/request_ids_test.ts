/** RequestIds: each fresh id acknowledges everything below the smallest seq still in flight. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RequestIds } from "../../src/server/inflight.ts";
import type { RequestId } from "../../src/store/command.ts";

/** A call that stays in flight until released (or failed). */
function held(ids: RequestIds) {
  let release!: () => void;
  let fail!: (e: Error) => void;
  let id!: RequestId;
  const done = ids.use(undefined, (given) => {
    id = given;
    return new Promise<void>((res, rej) => {
      release = res;
      fail = rej;
    });
  });
  return { id, done, release, fail };
}

test("ackBelow is the smallest seq still in flight, its own included", async () => {
  const ids = new RequestIds("n1");
  const a = held(ids);
  const b = held(ids);
  const c = held(ids);
  assert.deepEqual([a.id, b.id, c.id], [
    { clientId: "n1", seq: 1, ackBelow: 1 },
    { clientId: "n1", seq: 2, ackBelow: 1 },
    { clientId: "n1", seq: 3, ackBelow: 1 },
  ]);
  b.release();
  await b.done;
  assert.equal(held(ids).id.ackBelow, 1, "seq 1 is still in flight");
  a.fail(new Error("timed out"));
  await assert.rejects(a.done, /timed out/);
  // 1 given up, 2 answered, 3 and 4 in flight.
  const e = held(ids);
  assert.deepEqual(e.id, { clientId: "n1", seq: 5, ackBelow: 3 });
  assert.equal(ids.inFlight, 3);
});

test("with nothing else in flight a new id acknowledges everything before it", async () => {
  const ids = new RequestIds("n1");
  for (let i = 1; i <= 5; i++) {
    const id = await ids.use(undefined, (given) => Promise.resolve(given));
    assert.deepEqual(id, { clientId: "n1", seq: i, ackBelow: i });
  }
  assert.equal(ids.inFlight, 0);
});

test("a caller's own request id is used as it is and not tracked", async () => {
  const ids = new RequestIds("n1");
  const own = { clientId: "app", seq: 42 };
  assert.equal(await ids.use(own, (given) => Promise.resolve(given)), own);
  assert.deepEqual(await ids.use(undefined, (given) => Promise.resolve(given)), {
    clientId: "n1",
    seq: 1,
    ackBelow: 1,
  });
});
