import { expect } from "chai";
import { register as globalRegistry } from "prom-client";
import { L1_OPERATIONS, NodeMetrics } from "../../node/ops/metrics.js";

describe("ops metrics", () => {
  it("keeps each node's series in its own registry", async () => {
    const a = new NodeMetrics({ processMetrics: false, defaultLabels: { node: "a" } });
    const b = new NodeMetrics({ processMetrics: false, defaultLabels: { node: "b" } });
    a.proposals.inc(5);
    a.commitments.inc(3);
    b.proposals.inc(1);
    a.term.set(7);
    a.setRole("leader");
    a.replicationLag.set({ peer: "12D3KooWpeer" }, 4);
    a.fsyncSeconds.observe(0.002);
    a.commitLatencySeconds.observe(0.03);
    a.transportSent.inc({ type: "append" });
    a.transportDropped.inc({ reason: "queue_full" });
    a.l1Errors.inc({ operation: "post_batch" });
    a.batchesPosted.inc();

    const text = (await a.exposition()).body;
    expect(text).to.contain('seq_proposals_total{node="a"} 5');
    expect(text).to.contain('seq_commitments_total{node="a"} 3');
    expect(text).to.contain('seq_raft_term{node="a"} 7');
    expect(text).to.contain('seq_node_role{role="leader",node="a"} 1');
    expect(text).to.contain('seq_node_role{role="follower",node="a"} 0');
    expect(text).to.contain('seq_replication_lag_entries{peer="12D3KooWpeer",node="a"} 4');
    expect(text).to.contain('seq_fsync_seconds_count{node="a"} 1');
    expect(text).to.contain('seq_commit_latency_seconds_bucket{le="0.05",node="a"} 1');
    expect(text).to.contain('seq_transport_messages_dropped_total{reason="queue_full",node="a"} 1');
    expect(text).to.contain('seq_l1_errors_total{operation="post_batch",node="a"} 1');
    expect(text).to.contain('seq_batches_posted_total{node="a"} 1');
    expect((await b.exposition()).body).to.contain('seq_proposals_total{node="b"} 1');
    expect(await globalRegistry.metrics()).to.not.contain("seq_proposals_total");
  });

  it("exports every L1 error series at 0 before the first failure, and the gauges the alerts read", async () => {
    const m = new NodeMetrics({ processMetrics: false });
    const fresh = (await m.exposition()).body;
    for (const operation of L1_OPERATIONS) expect(fresh).to.contain(`seq_l1_errors_total{operation="${operation}"} 0`);
    for (const gauge of ["seq_raft_has_leader", "seq_posted_position", "seq_unposted_transactions", "seq_operator_jailed", "seq_data_dir_available_bytes", "seq_data_dir_size_bytes"]) {
      expect(fresh).to.match(new RegExp(`^${gauge} 0$`, "m"));
    }
    m.l1Errors.inc({ operation: "follow" });
    m.operatorJailed.set(1);
    m.unpostedTransactions.set(42);
    const after = (await m.exposition()).body;
    expect(after).to.contain('seq_l1_errors_total{operation="follow"} 1');
    expect(after).to.match(/^seq_operator_jailed 1$/m);
    expect(after).to.match(/^seq_unposted_transactions 42$/m);
  });

  it("registers the process metrics into the node's registry", async () => {
    const metrics = new NodeMetrics();
    const { body, contentType } = await metrics.exposition();
    expect(contentType).to.contain("text/plain");
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes"]) {
      expect(body).to.contain(`# TYPE ${name} `);
    }
  });
});
