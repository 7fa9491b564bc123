/**
 * The static checks an execution client applies before a transaction enters its pool, so that
 * the sequencer never orders a transaction no client can run. Rules are geth's
 * (`core/txpool/validation.go`, `core/state_transition.go` IntrinsicGas / FloorDataGas) at the
 * Prague fork, the fork that introduced the type-4 (EIP-7702) transactions intake accepts:
 * - field widths: nonce and gas fit 64 bits; chain id, value and every fee field fit 256 bits;
 * - maxPriorityFeePerGas <= maxFeePerGas;
 * - gas >= intrinsic gas: 21,000 (53,000 creating a contract), 4 per zero and 16 per non-zero
 *   calldata byte (EIP-2028), 2 per 32-byte initcode word (EIP-3860), 2,400 per access-list
 *   address and 1,900 per storage key (EIP-2930), 25,000 per authorization (EIP-7702);
 * - gas >= the EIP-7623 calldata floor: 21,000 + 10 per calldata token (a zero byte is one
 *   token, a non-zero byte four);
 * - initcode of a contract creation is at most 49,152 bytes (EIP-3860).
 * Not applied: the block gas limit and the Osaka per-transaction cap (EIP-7825, 2^24): both are
 * properties of the rollup's chain configuration, which intake is not told.
 */
import type { AccessList, Address, Hex, SignedAuthorizationList } from "viem";

import { InvalidTransactionError } from "./errors.js";

const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT256 = (1n << 256n) - 1n;
/** The decoded nonce is a JS number: larger nonces are refused (no account can reach 2^53). */
const MAX_NONCE = BigInt(Number.MAX_SAFE_INTEGER);

const TX_GAS = 21_000n;
const TX_GAS_CONTRACT_CREATION = 53_000n;
const TX_DATA_ZERO_GAS = 4n;
const TX_DATA_NON_ZERO_GAS = 16n;
const INIT_CODE_WORD_GAS = 2n;
const MAX_INIT_CODE_SIZE = 49_152;
const ACCESS_LIST_ADDRESS_GAS = 2_400n;
const ACCESS_LIST_STORAGE_KEY_GAS = 1_900n;
const AUTHORIZATION_GAS = 25_000n;
const TOTAL_COST_FLOOR_PER_TOKEN = 10n;

/** What the intrinsic-gas rules read from a transaction. */
export type GasRelevantFields = {
  readonly to: Address | null;
  readonly data: Hex;
  readonly accessList?: AccessList;
  readonly authorizationList?: SignedAuthorizationList;
};

/** The numeric fields whose width an execution client bounds. */
export type NumericField =
  | "chain id"
  | "nonce"
  | "gas"
  | "gas price"
  | "max fee per gas"
  | "max priority fee per gas"
  | "value"
  | "authorization chain id"
  | "authorization nonce";

const FIELD_LIMITS: Record<NumericField, { max: bigint; width: string }> = {
  "chain id": { max: MAX_UINT256, width: "2^256-1" },
  nonce: { max: MAX_UINT64, width: "2^64-1" },
  gas: { max: MAX_UINT64, width: "2^64-1" },
  "gas price": { max: MAX_UINT256, width: "2^256-1" },
  "max fee per gas": { max: MAX_UINT256, width: "2^256-1" },
  "max priority fee per gas": { max: MAX_UINT256, width: "2^256-1" },
  value: { max: MAX_UINT256, width: "2^256-1" },
  "authorization chain id": { max: MAX_UINT256, width: "2^256-1" },
  "authorization nonce": { max: MAX_UINT64, width: "2^64-1" },
};

/**
 * Throws unless `value` fits the width an execution client gives `field`. Nonces (of the
 * transaction and of authorizations) must also be at most 2^53-1, the largest this decoder
 * represents exactly.
 */
export function checkNumericField(field: NumericField, value: bigint): void {
  const { max, width } = FIELD_LIMITS[field];
  if (value > max) throw new InvalidTransactionError("field-too-large", `${field} ${value} exceeds ${width}, the most an execution client accepts`);
  if ((field === "nonce" || field === "authorization nonce") && value > MAX_NONCE) {
    throw new InvalidTransactionError("field-too-large", `${field} ${value} exceeds 2^53-1: no account can reach it, and this sequencer refuses it`);
  }
}

/** Throws unless the priority fee is at most the fee cap (geth: ErrTipAboveFeeCap). */
export function checkFeeOrder(maxPriorityFeePerGas: bigint, maxFeePerGas: bigint): void {
  if (maxPriorityFeePerGas > maxFeePerGas) {
    throw new InvalidTransactionError("tip-above-fee-cap", `max priority fee per gas ${maxPriorityFeePerGas} is above max fee per gas ${maxFeePerGas}`);
  }
}

/** Calldata bytes that are zero and non-zero. */
function byteCounts(data: Hex): { zero: bigint; nonZero: bigint } {
  let zero = 0;
  for (let i = 2; i < data.length; i += 2) if (data.charCodeAt(i) === 48 && data.charCodeAt(i + 1) === 48) zero++;
  return { zero: BigInt(zero), nonZero: BigInt((data.length - 2) / 2 - zero) };
}

/** Intrinsic gas of a transaction as geth computes it at Prague (see the module comment). */
export function intrinsicGas(tx: GasRelevantFields): bigint {
  const creation = tx.to === null;
  const { zero, nonZero } = byteCounts(tx.data);
  let gas = creation ? TX_GAS_CONTRACT_CREATION : TX_GAS;
  gas += zero * TX_DATA_ZERO_GAS + nonZero * TX_DATA_NON_ZERO_GAS;
  if (creation) gas += ((zero + nonZero + 31n) / 32n) * INIT_CODE_WORD_GAS;
  for (const entry of tx.accessList ?? []) gas += ACCESS_LIST_ADDRESS_GAS + BigInt(entry.storageKeys.length) * ACCESS_LIST_STORAGE_KEY_GAS;
  gas += BigInt(tx.authorizationList?.length ?? 0) * AUTHORIZATION_GAS;
  return gas;
}

/** The EIP-7623 floor: the least gas a transaction with this calldata must offer. */
export function floorDataGas(data: Hex): bigint {
  const { zero, nonZero } = byteCounts(data);
  return TX_GAS + (zero + nonZero * 4n) * TOTAL_COST_FLOOR_PER_TOKEN;
}

/** The least gas limit an execution client accepts for `tx`: max(intrinsic gas, calldata floor). */
export function minimumGas(tx: GasRelevantFields): bigint {
  const intrinsic = intrinsicGas(tx);
  const floor = floorDataGas(tx.data);
  return intrinsic > floor ? intrinsic : floor;
}

/**
 * Throws an {@link InvalidTransactionError} for the first rule `tx` breaks: widths of gas, value
 * and fees, tip above fee cap, initcode size, intrinsic gas, calldata floor.
 */
export function checkExecutable(
  tx: GasRelevantFields & { readonly gas: bigint; readonly value: bigint; readonly gasPrice?: bigint; readonly maxFeePerGas?: bigint; readonly maxPriorityFeePerGas?: bigint },
): void {
  checkNumericField("gas", tx.gas);
  checkNumericField("value", tx.value);
  if (tx.gasPrice !== undefined) checkNumericField("gas price", tx.gasPrice);
  if (tx.maxFeePerGas !== undefined) checkNumericField("max fee per gas", tx.maxFeePerGas);
  if (tx.maxPriorityFeePerGas !== undefined) {
    checkNumericField("max priority fee per gas", tx.maxPriorityFeePerGas);
    checkFeeOrder(tx.maxPriorityFeePerGas, tx.maxFeePerGas ?? 0n);
  }
  const size = (tx.data.length - 2) / 2;
  if (tx.to === null && size > MAX_INIT_CODE_SIZE) {
    throw new InvalidTransactionError("initcode-too-large", `contract creation carries ${size} bytes of initcode, the limit is ${MAX_INIT_CODE_SIZE} (EIP-3860)`);
  }
  const intrinsic = intrinsicGas(tx);
  if (tx.gas < intrinsic) {
    throw new InvalidTransactionError("intrinsic-gas-too-low", `gas ${tx.gas} is below the transaction's intrinsic gas ${intrinsic}`);
  }
  const floor = floorDataGas(tx.data);
  if (tx.gas < floor) {
    throw new InvalidTransactionError("floor-data-gas-too-low", `gas ${tx.gas} is below the EIP-7623 calldata floor ${floor}`);
  }
}
