/**
 * S5, admission control at intake: a sender (recovered address) or a client (remote address)
 * past its budget is refused with a retryable OVERLOADED that names the budget, while other
 * senders and clients are still admitted. Driven through the node's JSON-RPC API over HTTP, with
 * a leader that commits whatever it is asked to propose.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import type { CommitmentService } from "../../node/app/commitments.js";
import { decodeSubmitResponse, encodeSubmitRequest } from "../../node/codec/index.js";
import type { OrderCommitmentProofJson } from "../../node/commitments/index.js";
import { Admission, type AdmissionBudgets } from "../../node/intake/index.js";
import { createLogger } from "../../node/ops/logger.js";
import { NodeMetrics } from "../../node/ops/metrics.js";
import { OVERLOADED } from "../../node/rpc/errors.js";
import { createRpcServer, type RpcServer } from "../../node/rpc/server.js";
import { sequencerMethods } from "../../node/sequencer/api.js";
import { SubmissionService } from "../../node/sequencer/submissions.js";
import { LoadSigner } from "../../scripts/bench/lib/presign.js";
import { post, postFrom, rpc } from "../rpc/helpers.js";

const CHAIN_ID = 901;
/** A rate so low that nothing refills while a test runs: only the bursts count. */
const NO_REFILL = 1e-6;

describe("S5: admission budgets per sender and per client", function () {
  this.timeout(60_000);
  let server: RpcServer | undefined;
  let submissions: SubmissionService | undefined;
  let metrics: NodeMetrics;
  afterEach(async () => {
    submissions?.close();
    await server?.close({ timeoutMs: 1_000 });
    server = submissions = undefined;
  });

  /** A leader whose every proposal commits at the next position, serving the API on 127.0.0.1. */
  async function leader(budgets: { sender?: AdmissionBudgets; client?: AdmissionBudgets }): Promise<string> {
    const committed: string[] = [];
    const commitments = {
      commitmentAt: async (at: number) => ({ status: "certified", commitment: { position: `0x${at.toString(16)}`, txHash: committed[at] } as OrderCommitmentProofJson }),
    } as unknown as CommitmentService;
    metrics = new NodeMetrics({ processMetrics: false });
    const service = new SubmissionService({
      metrics,
      store: undefined as never, // only a follower reads it
      commitments,
      intake: { chainId: CHAIN_ID, maxBytes: 128 * 1024 },
      timeoutMs: 10_000,
      logger: createLogger({ level: "silent" }),
      admission: {
        ...(budgets.sender ? { sender: new Admission("sender", budgets.sender) } : {}),
        ...(budgets.client ? { client: new Admission("client", budgets.client) } : {}),
      },
      isLeader: () => true,
      leader: () => "self",
      propose: ({ hash }) => setImmediate(() => service.outcomes([{ txHash: hash, status: "committed", position: committed.push(hash) - 1, index: 1, term: 1 }])),
      forward: () => Promise.reject(new Error("a leader does not forward")),
    });
    submissions = service;
    server = await createRpcServer({ methods: sequencerMethods({ rollupChainId: CHAIN_ID, submissions: service, commitments, store: undefined as never, status: () => ({}), activity: () => [] }) });
    return server.url;
  }

  const send = async (url: string, raw: Hex) => (await post(url, rpc("eth_sendRawTransaction", [raw]))).json;

  /** Sends `raws` one after the other; expects the first `admitted` answered, the rest refused at `reason`, and returns those errors. */
  async function admittedThenRefused(url: string, raws: Hex[], admitted: number, reason: string): Promise<{ message: string }[]> {
    const replies = [];
    for (const raw of raws) replies.push(await send(url, raw));
    expect(replies.slice(0, admitted).map((reply) => typeof reply.result)).to.deep.equal(Array(admitted).fill("string"));
    const refused = replies.slice(admitted).map((reply) => reply.error);
    for (const error of refused) expect(error).to.deep.include({ code: OVERLOADED, data: { retryable: true, reason } });
    return refused;
  }

  it("S5: a sender past its transaction budget is refused, retryably and saying so, while other senders are admitted", async () => {
    const url = await leader({ sender: { txs: { perSecond: NO_REFILL, burst: 5 } } });
    const hostile = new LoadSigner({ chainId: CHAIN_ID, senders: 1, txBytes: 150, seed: 7 });
    for (const { message } of await admittedThenRefused(url, hostile.sign(8), 5, "sender-txs")) {
      expect(message).to.match(/^sender 0x[0-9a-f]{40} is over its budget of 0\.000001 transactions per second \(burst 5\): retry in \d+ ms$/);
    }
    // A submission forwarded by another member meets the same budget on the leader.
    const forwarded = decodeSubmitResponse(await submissions!.handleForwarded(encodeSubmitRequest({ rawTx: Buffer.from(hostile.sign(1)[0]!.slice(2), "hex") })));
    expect(forwarded).to.deep.include({ ok: false, failure: "overloaded", reason: "sender-txs" });
    const refusals = await metrics.registry.getSingleMetricAsString("seq_admission_refusals_total");
    expect(refusals).to.contain('seq_admission_refusals_total{budget="sender-txs"} 4');
    expect(refusals).to.contain('seq_admission_refusals_total{budget="client-bytes"} 0');

    const others = new LoadSigner({ chainId: CHAIN_ID, senders: 20, txBytes: 150, seed: 8 });
    for (const raw of others.sign(20)) expect((await send(url, raw)).result).to.be.a("string");
  });

  it("S5: a sender of large transactions is held to its byte budget while a sender of small ones is admitted", async () => {
    const url = await leader({ sender: { txs: { perSecond: 100, burst: 100 }, bytes: { perSecond: NO_REFILL, burst: 300_000 } } });
    const large = new LoadSigner({ chainId: CHAIN_ID, senders: 1, txBytes: 100_000, seed: 9 });
    // 2 x 100 kB taken, 100 kB left: not enough for a third one of just over 100 kB.
    await admittedThenRefused(url, large.sign(4), 2, "sender-bytes");

    const small = new LoadSigner({ chainId: CHAIN_ID, senders: 1, txBytes: 150, seed: 10 });
    for (const raw of small.sign(10)) expect((await send(url, raw)).result).to.be.a("string");
  });

  it("S5: a client past its budget is refused before its transactions are decoded, while another client is admitted", async () => {
    const url = await leader({ client: { txs: { perSecond: NO_REFILL, burst: 10 } } });
    // Many senders, one client: the client's budget is what stops it.
    const signer = new LoadSigner({ chainId: CHAIN_ID, senders: 50, txBytes: 150, seed: 11 });
    for (const { message } of await admittedThenRefused(url, signer.sign(12), 10, "client-txs")) expect(message).to.match(/^client 127\.0\.0\.1 is over its budget/);
    // Even an undecodable submission from it is refused at the budget, not decoded.
    expect((await send(url, "0x02c0")).error.data.reason).to.equal("client-txs");

    for (const raw of signer.sign(5)) {
      const reply = await postFrom("127.0.0.2", url, rpc("eth_sendRawTransaction", [raw]));
      expect(reply.json.result).to.be.a("string");
    }
  });
});
