/**
 * Target: processes in Linux network namespaces (../netns/harness.ts, root only): the process target's
 * SIGKILL and SIGSTOP plus partitions that drop packets on the real network stack (iptables), so nodes are
 * cut off from each other, not just from consensus messages. The test process still reaches every node.
 */
import { NetnsCluster, type NetnsClusterOptions } from "../netns/harness.ts";
import { ProcTarget } from "./proc.ts";

export { netnsSkip } from "../netns/harness.ts";

export function withNetnsTarget<T>(
  n: number,
  opts: NetnsClusterOptions,
  fn: (t: ProcTarget) => Promise<T>,
): Promise<T> {
  return NetnsCluster.with(n, opts, (c) => {
    const all = Array.from({ length: n }, (_, i) => i);
    const net = {
      isolate: (i: number) => c.partition([[i], all.filter((j) => j !== i)]),
      heal: () => c.heal(),
    };
    return fn(new ProcTarget(c.procs, net, "netns"));
  });
}
