/**
 * secp256k1 public-key recovery for transaction senders.
 *
 * The hot path uses libsecp256k1 through the `secp256k1` N-API binding. The package's own
 * entry point silently falls back to elliptic (pure JS) when the binding cannot load, so we
 * load `secp256k1/bindings.js` directly and, if that fails, fall back to @noble/curves with
 * a process warning that says so: a node that recovers senders in pure JS is much slower
 * (see `npm run bench:recovery`) and operators should know.
 */
import { createRequire } from "node:module";
import { secp256k1 as nobleSecp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, checksumAddress, type Address } from "viem";

import { InvalidSignatureError } from "./errors.js";

export type RecoveryBackend = {
  readonly name: "native" | "noble";
  /**
   * Recovers the 65-byte uncompressed public key (0x04 ‖ x ‖ y) from a 32-byte message hash
   * and a 64-byte compact signature r ‖ s. Throws if no key recovers.
   */
  recoverPublicKey(hash: Uint8Array, signature: Uint8Array, recovery: 0 | 1): Uint8Array;
};

type NativeSecp256k1 = {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
};

/** Loads the libsecp256k1 N-API binding; throws if it is unavailable on this platform. */
export function loadNativeBackend(): RecoveryBackend {
  const require = createRequire(import.meta.url);
  const native = require("secp256k1/bindings.js") as NativeSecp256k1;
  return {
    name: "native",
    recoverPublicKey: (hash, signature, recovery) => native.ecdsaRecover(signature, recovery, hash, false),
  };
}

export const nobleBackend: RecoveryBackend = {
  name: "noble",
  recoverPublicKey(hash, signature, recovery) {
    return nobleSecp256k1.Signature.fromBytes(signature, "compact")
      .addRecoveryBit(recovery)
      .recoverPublicKey(hash)
      .toBytes(false);
  },
};

/**
 * The native backend if `loadNative` succeeds, otherwise noble with a process warning
 * (code SEQ_SECP256K1_FALLBACK) saying why.
 */
export function selectRecoveryBackend(loadNative: () => RecoveryBackend = loadNativeBackend): RecoveryBackend {
  try {
    return loadNative();
  } catch (cause) {
    process.emitWarning(
      `native secp256k1 binding unavailable (${(cause as Error).message}); ` +
        "recovering transaction senders with @noble/curves (pure JS, over 10x slower)",
      { code: "SEQ_SECP256K1_FALLBACK" },
    );
    return nobleBackend;
  }
}

let defaultBackend: RecoveryBackend | undefined;

/** The process-wide backend, selected once by {@link selectRecoveryBackend}. */
export function getDefaultBackend(): RecoveryBackend {
  defaultBackend ??= selectRecoveryBackend();
  return defaultBackend;
}

/** Ethereum address (EIP-55 checksummed) of an uncompressed public key. */
export function publicKeyToAddress(publicKey: Uint8Array): Address {
  return checksumAddress(bytesToHex(keccak_256(publicKey.subarray(1)).subarray(12)));
}

/**
 * Recovers the signer address of `hash` from a compact signature. Range checks on r and s are
 * the caller's job (decode.ts reports them precisely); this only reports recovery failure.
 */
export function recoverSignerAddress(
  hash: Uint8Array,
  signature: Uint8Array,
  recovery: 0 | 1,
  backend: RecoveryBackend = getDefaultBackend(),
): Address {
  let publicKey: Uint8Array;
  try {
    publicKey = backend.recoverPublicKey(hash, signature, recovery);
  } catch (cause) {
    throw new InvalidSignatureError("recovery-failed", "no public key recovers from the signature", { cause });
  }
  return publicKeyToAddress(publicKey);
}
