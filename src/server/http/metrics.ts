/** Prometheus text exposition (format 0.0.4): request counters, a latency histogram and consensus gauges. */
import type { NodeStatus } from "../node.ts";

const BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

export class HttpMetrics {
  readonly #requests = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();

  /** Count one finished request; `endpoint` is a route path or "other" (bounded label values). */
  observe(endpoint: string, method: string, status: number, seconds: number): void {
    const key = `endpoint="${escapeLabel(endpoint)}",method="${escapeLabel(method)}",code="${status}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    let h = this.#latency.get(endpoint);
    if (!h) {
      h = { counts: BUCKETS_S.map(() => 0), sum: 0, count: 0 };
      this.#latency.set(endpoint, h);
    }
    for (let i = 0; i < BUCKETS_S.length; i++) if (seconds <= BUCKETS_S[i]) h.counts[i]++;
    h.sum += seconds;
    h.count++;
  }

  /** Requests served so far per endpoint (every method and status): the dashboard's rate counters. */
  requestsByEndpoint(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [endpoint, h] of this.#latency) out[endpoint] = h.count;
    return out;
  }

  render(st: NodeStatus): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    family(
      "chiselstore_http_requests_total",
      "counter",
      "HTTP requests served, by endpoint, method and status.",
    );
    for (const [labels, n] of this.#requests) lines.push(`chiselstore_http_requests_total{${labels}} ${n}`);
    const hist = "chiselstore_http_request_duration_seconds";
    family(hist, "histogram", "HTTP request latency in seconds, by endpoint.");
    for (const [endpoint, h] of this.#latency) {
      const ep = `endpoint="${escapeLabel(endpoint)}"`;
      BUCKETS_S.forEach((b, i) => lines.push(`${hist}_bucket{${ep},le="${b}"} ${h.counts[i]}`));
      lines.push(`${hist}_bucket{${ep},le="+Inf"} ${h.count}`, `${hist}_sum{${ep}} ${h.sum}`);
      lines.push(`${hist}_count{${ep}} ${h.count}`);
    }
    const gauge = (name: string, help: string, value: number) => {
      family(name, "gauge", help);
      lines.push(`${name} ${value}`);
    };
    gauge(
      "chiselstore_decided_index",
      "Length of the decided log prefix on this node.",
      st.consensus.decidedIdx,
    );
    gauge("chiselstore_applied_index", "Log entries applied to this node's database.", st.appliedIdx);
    gauge(
      "chiselstore_compacted_index",
      "Log entries trimmed or snapshotted away.",
      st.consensus.compactedIdx,
    );
    gauge("chiselstore_is_leader", "1 when this node leads (accept phase), else 0.", st.isLeader ? 1 : 0);
    gauge("chiselstore_leader_known", "1 when this node knows a leader, else 0.", st.leader ? 1 : 0);
    gauge("chiselstore_members", "Members of the cluster configuration.", st.members.length);
    gauge("chiselstore_connected_peers", "Members with an open consensus session.", st.connected.length);
    gauge("chiselstore_ballot_round", "Round number of the promised ballot.", st.consensus.promise.n);
    return lines.join("\n") + "\n";
  }
}
