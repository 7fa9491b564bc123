/**
 * The method-registration API of the RPC server.
 *
 * A method is a params validator plus a handler. The validator turns the raw JSON
 * `params` into the handler's typed input or throws `InvalidParamsError` saying what is
 * wrong; the handler does the work and returns a JSON-serializable result (bigint and
 * Uint8Array are encoded as hex, see `toJson`) or throws `RpcError`.
 */
import { InvalidParamsError } from "./errors.js";

export type Transport = "http" | "ws";

export interface SubscribeOptions {
  /** Method name of the pushed notifications. Default `seq_subscription`. */
  readonly notificationMethod?: string;
}

export interface RpcContext {
  readonly transport: Transport;
  /** The method being called, as the client named it. */
  readonly method: string;
  /**
   * Aborted when the result can no longer be delivered: request timeout, WebSocket
   * closed, or forced shutdown. Long handlers should pass it on or check it.
   */
  readonly signal: AbortSignal;
  readonly remoteAddress: string | undefined;
  /** Who the caller is for per-client limits: `clientKeyOf(remoteAddress)` (an IPv4 address, an IPv6 /64). */
  readonly client: string;
  /**
   * The response bytes this call may still produce (its message's budget, `budget.ts`): a
   * handler that builds a large result reserves as it goes and stops, or returns less, once
   * `reserve` says no. What the result holds beyond its reservations is drawn by the server.
   */
  readonly budget: { reserve(bytes: number): boolean };
  /**
   * Subscribes this WebSocket connection to `topic` and returns the subscription id.
   * Events published on the topic are pushed as notifications once the response to
   * this call has been sent (never before the client knows the id). Throws
   * METHOD_NOT_FOUND over HTTP, OVERLOADED at the per-connection subscription limit.
   */
  subscribe(topic: string, options?: SubscribeOptions): string;
  /** Ends one of this connection's subscriptions. False if the id is not one of its own. */
  unsubscribe(id: string): boolean;
}

export interface RpcMethod<P = unknown, R = unknown> {
  /** Validates raw `params` (undefined when absent, else an array or object). Throws `InvalidParamsError`. */
  readonly params: (raw: unknown) => P;
  readonly handler: (params: P, ctx: RpcContext) => Promise<R> | R;
}

// `any` lets one registry hold methods with different param/result types; each stays typed at definition.
export type RpcMethods = Readonly<Record<string, RpcMethod<any, any>>>;

/** Identity helper that infers `P` from the validator so the handler's params are typed. */
export function defineMethod<P, R>(method: RpcMethod<P, R>): RpcMethod<P, R> {
  return method;
}

/** Params as a positional array of `min..max` elements (absent params count as `[]`). */
export function positionalParams(raw: unknown, min: number, max: number = min): unknown[] {
  const list = raw === undefined ? [] : raw;
  if (!Array.isArray(list)) throw new InvalidParamsError(`invalid params: expected a positional array, got ${describe(raw)}`);
  if (list.length < min || list.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    throw new InvalidParamsError(`invalid params: expected ${expected} parameter(s), got ${list.length}`);
  }
  return list;
}

/** For methods that take nothing: accepts absent params or `[]`. */
export function noParams(raw: unknown): void {
  positionalParams(raw, 0);
}

/**
 * `seq_subscribe` / `seq_unsubscribe` over the given topics, plus `eth_subscribe` /
 * `eth_unsubscribe` aliases whose notifications use `eth_subscription` (what viem and
 * ethers listen for). Params: `[topic]` and `[subscriptionId]`.
 */
export function subscriptionMethods(topics: readonly string[]): RpcMethods {
  const known = new Set(topics);
  const topicParam = (raw: unknown): string => {
    const [topic] = positionalParams(raw, 1);
    if (typeof topic !== "string" || !known.has(topic)) {
      throw new InvalidParamsError(`invalid params: unknown subscription topic ${JSON.stringify(topic)}; topics: ${topics.join(", ")}`);
    }
    return topic;
  };
  const idParam = (raw: unknown): string => {
    const [id] = positionalParams(raw, 1);
    if (typeof id !== "string") throw new InvalidParamsError(`invalid params: subscription id must be a string, got ${describe(id)}`);
    return id;
  };
  const subscribe = (notificationMethod: string) =>
    defineMethod({ params: topicParam, handler: (topic, ctx) => ctx.subscribe(topic, { notificationMethod }) });
  const unsubscribe = defineMethod({ params: idParam, handler: (id, ctx) => ctx.unsubscribe(id) });
  return {
    seq_subscribe: subscribe("seq_subscription"),
    seq_unsubscribe: unsubscribe,
    eth_subscribe: subscribe("eth_subscription"),
    eth_unsubscribe: unsubscribe,
  };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}
