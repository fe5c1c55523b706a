/**
 * The in-memory view of the persistent state is the core's own MemoryStorage: FileStorage validates and
 * applies every write through it, so its semantics match MemoryStorage's by construction. The snapshot is
 * the exception: FileStorage keeps it out of the view (its bytes live in a file). This file turns the view
 * into a checkpoint and back.
 */
import { MemoryStorage } from "../omnipaxos/memory_storage.ts";
import type { StorageOp } from "../omnipaxos/storage.ts";
import type { Checkpoint, SnapshotRef } from "./values.ts";

export type View = MemoryStorage<Uint8Array>;

export function checkpointOf(view: View, snapshot: SnapshotRef | undefined): Checkpoint {
  const compactedIdx = view.getCompactedIdx();
  const cp: Checkpoint = {
    compactedIdx,
    decidedIdx: view.getDecidedIdx(),
    entries: view.getEntries(compactedIdx, compactedIdx + view.getLogLen()),
  };
  const promise = view.getPromise();
  const acceptedRound = view.getAcceptedRound();
  const stopSign = view.getStopSign();
  if (promise) cp.promise = promise;
  if (acceptedRound) cp.acceptedRound = acceptedRound;
  if (stopSign) cp.stopSign = stopSign;
  if (snapshot) cp.snapshot = snapshot;
  return cp;
}

/** A view holding `cp`'s state, except the snapshot bytes (they live in their own file). */
export function viewOf(cp: Checkpoint): View {
  const ops: StorageOp<Uint8Array>[] = [
    { op: "trim", idx: cp.compactedIdx },
    { op: "append", entries: cp.entries },
    { op: "setDecidedIdx", idx: cp.decidedIdx },
  ];
  if (cp.promise) ops.push({ op: "setPromise", ballot: cp.promise });
  if (cp.acceptedRound) ops.push({ op: "setAcceptedRound", ballot: cp.acceptedRound });
  if (cp.stopSign) ops.push({ op: "setStopSign", ss: cp.stopSign });
  const view = new MemoryStorage<Uint8Array>();
  view.write(ops);
  return view;
}
