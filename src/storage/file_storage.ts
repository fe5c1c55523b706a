/**
 * FileStorage: the durable Storage<Uint8Array>. See docs/storage.md.
 *
 * `write` is synchronous and waits for no I/O: it encodes the batch (one log record), applies it to the
 * in-memory view (the core's MemoryStorage, so validation and semantics are MemoryStorage's) and queues the
 * record; the only I/O it starts is a new snapshot's temp file (see below). `sync` is the group commit: one
 * write of every queued record, then (per `fsync` mode) one fsync; every `sync` call made while a commit
 * runs is served by the next one. A batch that trims or sets the snapshot is not appended: the commit places
 * the snapshot file, then writes a new segment that starts with a checkpoint of the whole state, then
 * deletes the old segment.
 *
 * The snapshot (an SQLite export: as large as the database) is held only while its bytes are written:
 * `write` starts writing them to a temp file at once, not behind queued commits, and drops them when that
 * write is done (`snapshotWritten()` tells the host when); the commit fsyncs and renames the file. From then on
 * `getSnapshot` reads and verifies the file each time the core asks for it (sending it to a lagging
 * follower, a restart restoring the state machine), which is rare.
 */
import fs from "node:fs";
import { setTimeout as delay } from "node:timers";
import type { Ballot } from "../omnipaxos/ballot.ts";
import { StorageError } from "../omnipaxos/errors.ts";
import { MemoryStorage } from "../omnipaxos/memory_storage.ts";
import type { Storage, StorageOp } from "../omnipaxos/storage.ts";
import type { SnapshotData, StopSign } from "../omnipaxos/types.ts";
import { close, fsync, writeAtSync } from "./fsio.ts";
import { StorageCorruptionError } from "./errors.ts";
import { acquireLock, releaseLock } from "./lock.ts";
import { frameRecords, type PendingRecord, RECORD_BATCH, recordSize } from "./record.ts";
import { recover, type RecoveryReport } from "./recovery.ts";
import { createLogDir, createSegment, segmentName } from "./segment.ts";
import {
  placeSnapshotFile,
  readSnapshotFile,
  removeSnapshotsExcept,
  snapshotRef,
  snapshotTempName,
  writeSnapshotTemp,
} from "./snapshot_file.ts";
import { checkpointOf, type View } from "./state.ts";
import { encodeBatch, encodeCheckpoint, type SnapshotRef } from "./values.ts";

/**
 * The current snapshot: its bytes while `written` is pending, then only its file, a temp file until a
 * commit fsyncs and renames it (`placed`).
 */
interface Snap {
  ref: SnapshotRef;
  placed: boolean;
  data?: Uint8Array;
  written: Promise<void>;
}

export type FsyncMode = "always" | "batch" | "never";

export interface FileStorageOptions {
  /**
   * always (default): `sync()` resolves after fsync; what it covers survives power loss.
   * batch: `sync()` resolves once the data is written to the OS (survives a process crash); fsync runs
   * when `batchBytes` are unsynced or `batchMs` after the first unsynced write, so power loss may lose
   * that window (cut cleanly on recovery). never: no fsync at all (tests, throwaway nodes).
   */
  fsync?: FsyncMode;
  batchMs?: number;
  batchBytes?: number;
  /** Rewrite the log as a checkpoint once the segment exceeds this and twice the last checkpoint. */
  checkpointBytes?: number;
  /**
   * Called when a new snapshot's bytes are in their file (not yet durable: the next commit fsyncs it) and
   * the storage holds them no longer, with their size. The node runs a garbage collection after large ones
   * (src/server/release_memory.ts).
   */
  onSnapshotWritten?: (bytes: number) => void;
}

export interface FileStorageStats {
  /** write() calls accepted. */
  writes: number;
  /** Batch records written to the log. */
  records: number;
  /** Segments started with a checkpoint (trims, snapshots, size). */
  checkpoints: number;
  /** Group commits that wrote something. */
  commits: number;
  fsyncs: number;
  /** Bytes written to segments and snapshot files. */
  bytesWritten: number;
}

const DEFAULTS = { fsync: "always", batchMs: 10, batchBytes: 1 << 20, checkpointBytes: 64 << 20 } as const;

export class FileStorage implements Storage<Uint8Array> {
  readonly dir: string;
  readonly recoveryReport: RecoveryReport;
  readonly #opts: Required<Omit<FileStorageOptions, "onSnapshotWritten">>;
  readonly #onSnapshotWritten: ((bytes: number) => void) | undefined;
  readonly #logDir: string;
  readonly #snapDir: string;
  #view: View;
  #fd: number;
  #segmentNo: number;
  /** Bytes of the segment handed to the OS, and how many of them are known durable. */
  #size: number;
  #synced: number;
  #lastCheckpointSize: number;
  #pending: PendingRecord[] = [];
  #needCheckpoint = false;
  /** The view never holds the snapshot: it is here, and `#disk` is the file the current segment names. */
  #snap: Snap | undefined;
  #disk: SnapshotRef | undefined;
  #snapGen: number;
  /** write() calls made, and how many of them the last finished commit covers. */
  #writes = 0;
  #acked = 0;
  #io: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #timer: ReturnType<typeof delay> | undefined;
  #failed: StorageError | undefined;
  #closed = false;
  readonly #stats: FileStorageStats = {
    writes: 0,
    records: 0,
    checkpoints: 0,
    commits: 0,
    fsyncs: 0,
    bytesWritten: 0,
  };

  private constructor(
    dir: string,
    opts:
      & Required<Omit<FileStorageOptions, "onSnapshotWritten">>
      & Pick<FileStorageOptions, "onSnapshotWritten">,
    s: {
      view: View;
      snapshot: SnapshotRef | undefined;
      segmentNo: number;
      size: number;
      report: RecoveryReport;
    },
  ) {
    this.dir = dir;
    this.#opts = opts;
    this.#onSnapshotWritten = opts.onSnapshotWritten;
    this.#logDir = `${dir}/log`;
    this.#snapDir = `${dir}/snapshots`;
    this.#view = s.view;
    this.#segmentNo = s.segmentNo;
    this.#size = this.#synced = this.#lastCheckpointSize = s.size;
    this.#disk = s.snapshot;
    this.#snap = s.snapshot ? { ref: s.snapshot, placed: true, written: Promise.resolve() } : undefined;
    this.#snapGen = s.snapshot?.gen ?? 0;
    this.recoveryReport = s.report;
    this.#fd = fs.openSync(`${this.#logDir}/${segmentName(s.segmentNo)}`, "r+");
  }

  /** Opens (creating if needed) the data directory `dir`, recovering its state. */
  static async open(dir: string, options: FileStorageOptions = {}): Promise<FileStorage> {
    const opts = { ...DEFAULTS, ...options };
    if (!["always", "batch", "never"].includes(opts.fsync)) {
      throw new StorageError(`bad fsync mode ${opts.fsync}`);
    }
    for (const k of ["batchMs", "batchBytes", "checkpointBytes"] as const) {
      if (!(opts[k] >= 0)) throw new StorageError(`bad option ${k}: ${opts[k]}`);
    }
    const durable = opts.fsync !== "never";
    fs.mkdirSync(`${dir}/snapshots`, { recursive: true });
    const lockPath = `${dir}/LOCK`;
    const { brokeStale } = acquireLock(lockPath);
    try {
      // `log/` exists only once it holds a segment (it is created whole, see createLogDir), so a log
      // directory without one lost its log: recover() refuses it instead of starting empty.
      if (fs.existsSync(`${dir}/log`)) {
        const found = await recover(`${dir}/log`, `${dir}/snapshots`, durable);
        found.report.brokeStaleLock = brokeStale;
        return new FileStorage(dir, opts, found);
      }
      const orphans = fs.readdirSync(`${dir}/snapshots`).filter((n) => n.endsWith(".snap"));
      if (orphans.length > 0) {
        throw new StorageCorruptionError(
          `${dir}/log`,
          0,
          "missing-segment",
          `the log directory is missing but snapshots/ holds ${orphans.join(", ")}: the log was lost`,
        );
      }
      const view = new MemoryStorage<Uint8Array>();
      const size = await createLogDir(dir, encodeCheckpoint(checkpointOf(view, undefined)), durable);
      const report: RecoveryReport = {
        segment: undefined,
        batches: 0,
        truncatedAt: undefined,
        truncatedBytes: 0,
        tornReason: undefined,
        removedFiles: [],
        brokeStaleLock: brokeStale,
      };
      return new FileStorage(dir, opts, { view, snapshot: undefined, segmentNo: 1, size, report });
    } catch (e) {
      releaseLock(lockPath);
      throw e;
    }
  }

  get stats(): Readonly<FileStorageStats> {
    return { ...this.#stats };
  }

  /** Bytes buffered by write() and not yet handed to the OS. */
  get pendingBytes(): number {
    let n = 0;
    for (const r of this.#pending) n += recordSize(r.payload.length);
    return n;
  }

  #usable(): void {
    if (this.#failed) throw this.#failed;
    if (this.#closed) throw new StorageError(`${this.dir}: storage is closed`);
  }

  write(ops: readonly StorageOp<Uint8Array>[]): void {
    this.#usable();
    if (ops.length === 0) return;
    // Encode first (it validates types), then let the view validate and apply: either may throw and
    // nothing has changed yet.
    const { payload, compaction } = encodeBatch(ops);
    // The view validates and applies everything but the snapshot, which is kept here (see #snap).
    this.#view.write(compaction ? ops.filter((op) => op.op !== "setSnapshot") : ops);
    const set = ops.findLast((op) => op.op === "setSnapshot");
    if (set) this.#snap = set.snapshot && this.#writeSnapshot(set.snapshot);
    this.#writes++;
    this.#stats.writes++;
    if (compaction) {
      // The checkpoint written by the next commit covers every queued record.
      this.#needCheckpoint = true;
      this.#pending = [];
    } else if (!this.#needCheckpoint) {
      this.#pending.push({ type: RECORD_BATCH, payload });
    }
  }

  /**
   * Starts writing a snapshot's temp file; the bytes are dropped once it is written. A failure poisons the
   * storage (fail-stop, as a failed commit does): the next write() or sync() reports it.
   */
  #writeSnapshot(s: SnapshotData): Snap {
    const ref = snapshotRef(s.idx, ++this.#snapGen, s.data);
    const snap: Snap = { ref, placed: false, data: s.data, written: Promise.resolve() };
    snap.written = writeSnapshotTemp(this.#snapDir, ref, s.data).then(() => {
      snap.data = undefined;
      this.#stats.bytesWritten += ref.size;
      this.#onSnapshotWritten?.(ref.size);
    }, (e: unknown) => {
      this.#failed ??= new StorageError(`${this.dir}: writing a snapshot failed, storage is unusable: ${e}`, {
        cause: e,
      });
      throw this.#failed;
    });
    snap.written.catch(() => {}); // reported through #failed; awaited again by the commit that places it
    return snap;
  }

  /**
   * Resolves once the current snapshot's bytes are in their file and no longer held here (at once when
   * there is none pending). A host can hold back work that grows memory until then (the node pauses
   * applying: docs/storage.md, "Snapshot files"). Rejects if the write failed.
   */
  snapshotWritten(): Promise<void> {
    return this.#snap?.written ?? Promise.resolve();
  }

  /** Resolves once every write() made before the call is as durable as the fsync mode promises. */
  async sync(): Promise<void> {
    this.#usable();
    const target = this.#writes;
    while (this.#acked < target) {
      this.#queued ??= this.#enqueue(() => {
        this.#queued = undefined;
        return this.#commit();
      });
      await this.#queued;
    }
  }

  /** Commits what is queued, fsyncs (batch mode included), closes the files and releases the lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      if (!this.#failed) {
        await this.sync();
        if (this.#opts.fsync === "batch") await this.#enqueue(() => this.#fsync());
      }
    } finally {
      this.#closed = true;
      this.#clearTimer();
      await this.#io;
      await close(this.#fd);
      releaseLock(`${this.dir}/LOCK`);
    }
    if (this.#failed) throw this.#failed;
  }

  /**
   * What a crash does, for tests and simulations: drops every write not yet committed, never fsyncs and
   * releases the lock. A commit already in flight may still land, as it could in a real crash; the file
   * is closed once it has (closing earlier would let a reopen reuse the descriptor under that write).
   * The object is unusable afterwards.
   */
  abandon(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimer();
    this.#pending = [];
    this.#failed = new StorageError(`${this.dir}: storage was abandoned`);
    const fd = this.#fd;
    void this.#io.then(() => fs.closeSync(fd));
    releaseLock(`${this.dir}/LOCK`);
  }

  /** Runs `task` after every earlier I/O task; the first failure poisons the storage (fail-stop). */
  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#io.then(() => {
      if (this.#failed) throw this.#failed;
      return task();
    });
    this.#io = run.catch((e: unknown) => {
      this.#failed ??= e instanceof StorageError
        ? e
        : new StorageError(`${this.dir}: I/O failed, storage is unusable: ${String(e)}`, { cause: e });
    });
    return run.catch(() => {
      throw this.#failed;
    });
  }

  async #commit(): Promise<void> {
    const upTo = this.#writes;
    const records = this.#pending;
    this.#pending = [];
    const growth = this.#size >= this.#opts.checkpointBytes && this.#size >= 2 * this.#lastCheckpointSize;
    if (this.#needCheckpoint || growth) {
      this.#needCheckpoint = false;
      await this.#checkpoint();
    } else if (records.length > 0) {
      // Records claim only fsynced bytes as durable (never mode: written ones), see record.ts.
      const synced = this.#opts.fsync === "never" ? this.#size : this.#synced;
      const buf = frameRecords(records, synced);
      writeAtSync(this.#fd, buf, this.#size);
      this.#size += buf.length;
      this.#stats.records += records.length;
      this.#stats.bytesWritten += buf.length;
      this.#stats.commits++;
      if (this.#opts.fsync === "always") await this.#fsync();
      else if (this.#opts.fsync === "batch") {
        if (this.#size - this.#synced >= this.#opts.batchBytes) await this.#fsync();
        else this.#armTimer();
      }
    }
    this.#acked = upTo;
  }

  async #fsync(): Promise<void> {
    if (this.#synced >= this.#size) return;
    const target = this.#size;
    await fsync(this.#fd);
    this.#synced = target;
    this.#stats.fsyncs++;
  }

  #armTimer(): void {
    if (this.#timer) return;
    this.#timer = delay(() => {
      this.#timer = undefined;
      // A failure here poisons the storage; the next write() or sync() reports it.
      this.#enqueue(() => this.#fsync()).catch(() => {});
    }, this.#opts.batchMs);
    this.#timer.unref?.();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Snapshot file (if new), then a new segment holding the state as of now, then drop the old files. */
  async #checkpoint(): Promise<void> {
    const durable = this.#opts.fsync !== "never";
    const cp = checkpointOf(this.#view, undefined); // captured before any await: later writes go to the next commit
    const snap = this.#snap;
    const ref = snap?.ref;
    if (snap && !snap.placed) {
      await snap.written;
      await placeSnapshotFile(this.#snapDir, snap.ref, durable);
      if (durable) this.#stats.fsyncs += 2;
    }
    if (ref) cp.snapshot = ref;
    const next = this.#segmentNo + 1;
    const size = await createSegment(this.#logDir, next, encodeCheckpoint(cp), durable);
    const old = this.#fd;
    this.#fd = fs.openSync(`${this.#logDir}/${segmentName(next)}`, "r+");
    await close(old);
    fs.rmSync(`${this.#logDir}/${segmentName(this.#segmentNo)}`, { force: true });
    // A snapshot set while this commit awaited has a temp file that the next commit places: keep it.
    const newer = this.#snap && !this.#snap.placed && this.#snap !== snap
      ? [snapshotTempName(this.#snap.ref)]
      : [];
    if (ref !== this.#disk) removeSnapshotsExcept(this.#snapDir, ref, newer);
    this.#disk = ref;
    if (snap && this.#snap === snap) this.#snap = { ref: snap.ref, placed: true, written: snap.written };
    this.#segmentNo = next;
    this.#size = this.#synced = this.#lastCheckpointSize = size;
    this.#stats.checkpoints++;
    this.#stats.commits++;
    this.#stats.bytesWritten += size;
    if (durable) this.#stats.fsyncs += 2;
  }

  getPromise(): Ballot | undefined {
    return this.#view.getPromise();
  }
  getAcceptedRound(): Ballot | undefined {
    return this.#view.getAcceptedRound();
  }
  getDecidedIdx(): number {
    return this.#view.getDecidedIdx();
  }
  getCompactedIdx(): number {
    return this.#view.getCompactedIdx();
  }
  getLogLen(): number {
    return this.#view.getLogLen();
  }
  getEntries(from: number, to: number): Uint8Array[] {
    return this.#view.getEntries(from, to);
  }
  getStopSign(): StopSign | undefined {
    return this.#view.getStopSign();
  }
  /** The bytes while being written, then read from the file (damage throws StorageCorruptionError). */
  getSnapshot(): SnapshotData | undefined {
    const s = this.#snap;
    if (!s) return undefined;
    return { idx: s.ref.idx, data: s.data ?? readSnapshotFile(this.#snapDir, s.ref, !s.placed) };
  }
}
