/**
 * The fees of the batcher's L1 transactions: what to offer for a new one under the operator's
 * caps, and what a replacement of a stuck one must offer for the L1 node to take it. Pure: the
 * sender (`tx-sender.ts`) reads the fee market and applies these rules, for calldata (type-2)
 * and blob (type-3) transactions alike.
 */
import { formatGwei } from "viem";
import { L1Error } from "./errors.js";

/** EIP-1559 (calldata) or EIP-4844 (blob) transaction. */
export type TxKind = "eip1559" | "eip4844";

export interface Fees {
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
  /** Blob transactions only. */
  readonly maxFeePerBlobGas?: bigint;
}

/** The most the operator lets the batcher offer (config: l1MaxFeePerGasGwei, l1MaxPriorityFeePerGasGwei, l1MaxFeePerBlobGasGwei). */
export interface FeeCaps {
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
  readonly maxFeePerBlobGas: bigint;
}

/** What the L1 asks now: the next block's base fee, a tip that gets a transaction in, and (blob transactions) the blob base fee. */
export interface FeeMarket {
  readonly baseFeePerGas: bigint;
  readonly priorityFeePerGas: bigint;
  readonly blobBaseFee?: bigint;
}

/**
 * The bump a replacement needs over the transaction it replaces, in percent of each fee field:
 * geth's txpool (`PriceBump`, 10) for type-2, and its blob pool (`blobpool.PriceBump`, 100) for
 * type-3, whose replacement must double the blob fee cap too. Reth and Anvil ask no more.
 */
export const REPLACEMENT_BUMP_PERCENT: Readonly<Record<TxKind, bigint>> = { eip1559: 10n, eip4844: 100n };

/** The L1 asks more than the operator's caps allow: the batcher waits instead of overpaying. */
export class FeeCapExceededError extends L1Error {
  override readonly name = "FeeCapExceededError";
  constructor(
    /** `maxFeePerGas` (the base fee is above the cap), `maxFeePerBlobGas`, or for a replacement the bumped field that would exceed its cap. */
    readonly field: keyof Fees,
    /** What the L1 asks (or the replacement needs) and the cap, in wei. */
    readonly needed: bigint,
    readonly cap: bigint,
    what: string,
  ) {
    super(`${what} needs ${field} ${formatGwei(needed)} gwei, above the cap of ${formatGwei(cap)} gwei (${CAP_SETTING[field]}): waiting for the L1's fees to fall`);
  }
}

const CAP_SETTING: Readonly<Record<keyof Fees, string>> = {
  maxFeePerGas: "l1MaxFeePerGasGwei",
  maxPriorityFeePerGas: "l1MaxPriorityFeePerGasGwei",
  maxFeePerBlobGas: "l1MaxFeePerBlobGasGwei",
};

/**
 * The fees of a new transaction: the market's tip (at most the tip cap) over twice the base fee
 * (room for six full blocks of rising base fee), at most the fee cap; likewise twice the blob
 * base fee for a blob transaction.
 * @throws FeeCapExceededError when the base fee (or blob base fee) is already above its cap: no fee within the caps could be included
 */
export function freshFees(market: FeeMarket, caps: FeeCaps, kind: TxKind): Fees {
  if (market.baseFeePerGas > caps.maxFeePerGas) throw new FeeCapExceededError("maxFeePerGas", market.baseFeePerGas, caps.maxFeePerGas, "the L1's base fee");
  const maxPriorityFeePerGas = min(market.priorityFeePerGas, caps.maxPriorityFeePerGas);
  const maxFeePerGas = min(2n * market.baseFeePerGas + maxPriorityFeePerGas, caps.maxFeePerGas);
  if (kind === "eip1559") return { maxFeePerGas, maxPriorityFeePerGas: min(maxPriorityFeePerGas, maxFeePerGas) };
  const blobBase = market.blobBaseFee ?? 1n;
  if (blobBase > caps.maxFeePerBlobGas) throw new FeeCapExceededError("maxFeePerBlobGas", blobBase, caps.maxFeePerBlobGas, "the L1's blob base fee");
  return { maxFeePerGas, maxPriorityFeePerGas: min(maxPriorityFeePerGas, maxFeePerGas), maxFeePerBlobGas: min(2n * blobBase, caps.maxFeePerBlobGas) };
}

/**
 * The fees of a replacement of a transaction sent with `previous`: every field at least the bump
 * of its kind over the previous one (rounded up, as the pool compares), and at least what a fresh
 * transaction would offer now (the market may have moved further).
 * @throws FeeCapExceededError when a bumped field would exceed its cap: the L1 node would refuse anything less, so the transaction stays as sent
 */
export function replacementFees(previous: Fees, market: FeeMarket, caps: FeeCaps, kind: TxKind): Fees {
  const bump = REPLACEMENT_BUMP_PERCENT[kind];
  const bumped = (v: bigint) => (v * (100n + bump) + 99n) / 100n;
  // What the market asks now, as far as the caps allow (a base fee above the cap leaves the bump as the only raise).
  let fresh: Fees | undefined;
  try {
    fresh = freshFees(market, caps, kind);
  } catch (error) {
    if (!(error instanceof FeeCapExceededError)) throw error;
  }
  const out: Record<string, bigint> = {};
  const fields: (keyof Fees)[] = kind === "eip4844" ? ["maxFeePerGas", "maxPriorityFeePerGas", "maxFeePerBlobGas"] : ["maxFeePerGas", "maxPriorityFeePerGas"];
  for (const field of fields) {
    const needed = bumped(previous[field] ?? 0n);
    const cap = caps[field]!;
    if (needed > cap) throw new FeeCapExceededError(field, needed, cap, "replacing the stuck transaction");
    out[field] = max(needed, fresh?.[field] ?? 0n);
  }
  // A tip above the fee cap is invalid: the fee cap rises with it (both bumped, so within the caps).
  if (out.maxPriorityFeePerGas! > out.maxFeePerGas!) out.maxFeePerGas = out.maxPriorityFeePerGas!;
  return out as unknown as Fees;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);
