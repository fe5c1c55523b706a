/**
 * Runtime shims libp2p needs; import before creating a node (toolchain.md G2).
 *
 * Deno: mortice (the peer-store lock) creates a BroadcastChannel and calls `.unref?.()`. Deno's web
 * BroadcastChannel has no unref(), so the process never exits after stop(); node:worker_threads' one has.
 */
import { BroadcastChannel as NodeBroadcastChannel } from "node:worker_threads";

const g = globalThis as { BroadcastChannel?: { prototype: { unref?: unknown } } };
if ("Deno" in globalThis && typeof g.BroadcastChannel?.prototype?.unref !== "function") {
  (globalThis as Record<string, unknown>).BroadcastChannel = NodeBroadcastChannel;
}
