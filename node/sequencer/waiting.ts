/**
 * What a node serves on its RPC port before it is a member: from its first second on it answers
 * `seq_status`, `eth_chainId`, `GET /status` and `GET /health` (503) with `state: "waiting"` and
 * why (L1 not answering yet, or the operator not yet in a confirmed epoch's set), and every other
 * method with the retryable NO_LEADER error saying so, instead of refusing connections until the
 * node is assembled. The assembled node then takes the port over (`assemble.ts`).
 */
import type { Address } from "viem";
import { NO_LEADER, RpcError } from "../rpc/errors.js";
import type { RpcMethods } from "../rpc/methods.js";
import { createRpcServer, type HealthReport, type RpcServer } from "../rpc/server.js";
import type { Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";
import { sequencerMethods, type SequencerApiDeps } from "./api.js";

/** Why the node is not serving yet. */
export type WaitingFor =
  | { readonly what: "l1"; readonly l1: string }
  | { readonly what: "membership"; readonly epoch: number };

/** `seq_status` and `GET /status` while the node waits. */
export type WaitingStatus = {
  readonly state: "waiting";
  readonly role: "waiting";
  readonly leader: null;
  readonly signer: Address;
  readonly peerId: string;
  /** One sentence: what the node waits for. */
  readonly reason: string;
  /** The latest confirmed L1 epoch the node has read, once it has read one. */
  readonly epoch: number | null;
  /** When the node started waiting (ms since the Unix epoch). */
  readonly since: number;
};

export type WaitingRpcOptions = {
  readonly host: string;
  readonly port: number;
  readonly rollupChainId: number;
  readonly signer: Address;
  readonly peerId: string;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
};

/** Methods that answer while waiting; the rest refuse with NO_LEADER. */
const ANSWERED = new Set(["eth_chainId", "seq_status"]);

/** The RPC server of a node that waits; `waitingFor` moves it on from L1 to membership. */
export class WaitingRpc {
  private waitingFor: WaitingFor;
  private readonly since = Date.now();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly options: WaitingRpcOptions,
    l1: string,
    private server?: RpcServer,
  ) {
    this.waitingFor = { what: "l1", l1 };
  }

  /** Listens on the node's RPC address at once. @throws RpcServerListenError when the port is taken */
  static async start(options: WaitingRpcOptions, l1: string): Promise<WaitingRpc> {
    const waiting = new WaitingRpc(options, l1);
    waiting.server = await createRpcServer({
      host: options.host,
      port: options.port,
      logger: options.logger,
      metrics: options.metrics,
      methods: waiting.methods(),
      extraRoutes: { status: () => waiting.status(), health: (): HealthReport => ({ healthy: false, ...waiting.status() }) },
    });
    return waiting;
  }

  /** The node now waits for this. */
  update(waitingFor: WaitingFor): void {
    this.waitingFor = waitingFor;
  }

  status(): WaitingStatus {
    const w = this.waitingFor;
    const reason =
      w.what === "l1"
        ? `waiting to enter the set: reading the sequencer set from L1 at ${w.l1}`
        : `waiting to enter the set: signer ${this.options.signer} is in no confirmed epoch's active set yet (latest confirmed epoch ${w.epoch}); a registered operator joins at the start of the next epoch`;
    return { state: "waiting", role: "waiting", leader: null, signer: this.options.signer, peerId: this.options.peerId, reason, epoch: w.what === "membership" ? w.epoch : null, since: this.since };
  }

  /** Frees the port for the assembled node's server (once; later calls wait for the same close). */
  close(): Promise<void> {
    this.closing ??= this.server?.close({ timeoutMs: 1_000 }) ?? Promise.resolve();
    return this.closing;
  }

  /** The node's own method table (same names and params checks), each method but ANSWERED refusing. */
  private methods(): RpcMethods {
    const notYet = (): never => {
      throw new RpcError(NO_LEADER, `this node is not serving yet: ${this.status().reason}`);
    };
    // Only the method names and params checks are used: every handler reaching these deps is replaced below.
    const unused = new Proxy({}, { get: notYet }) as never;
    const deps: SequencerApiDeps = { rollupChainId: this.options.rollupChainId, submissions: unused, commitments: unused, store: unused, status: () => this.status(), activity: notYet };
    const full = sequencerMethods(deps);
    return Object.fromEntries(Object.entries(full).map(([name, method]) => [name, ANSWERED.has(name) ? method : { params: method.params, handler: notYet }]));
  }
}
