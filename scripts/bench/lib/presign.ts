/**
 * Pre-signed load for the node benchmark: EIP-1559 transactions of a fixed size from many
 * sender accounts with increasing nonces, every one distinct (a resubmission would be answered
 * from the store and flatter the figures).
 *
 * Signing goes through libsecp256k1 (the `secp256k1` N-API binding the node's intake already
 * uses): viem's pure-JS `signTransaction` manages ~1,400 signatures/s here, far too slow to
 * prepare minutes of load. The envelope is RLP-encoded directly; `checkAgainstViem` proves on a
 * sample that the bytes are exactly what `account.signTransaction` produces (libsecp256k1 and
 * viem both emit RFC 6979 low-s signatures) before any figure is taken.
 */
import { createRequire } from "node:module";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, hexToBytes, keccak256, toRlp, type Hex, type TransactionSerializableEIP1559 } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { minimumGas } from "../../../node/intake/rules.js";

interface NativeSigner {
  ecdsaSign(msg32: Uint8Array, seckey: Uint8Array): { signature: Uint8Array; recid: number };
}

const require = createRequire(import.meta.url);
const native = require("secp256k1/bindings.js") as NativeSigner;

/** The signed transactions do not match viem's own signing: the figures would be meaningless. */
export class PresignMismatchError extends Error {
  override readonly name = "PresignMismatchError";
}

export interface LoadSignerOptions {
  readonly chainId: number;
  readonly senders: number;
  /** Target size of each signed transaction in bytes (padded with calldata). */
  readonly txBytes: number;
  /** Deterministic sender keys: benchmark runs are reproducible. */
  readonly seed?: number;
}

/** RLP integer: big-endian bytes without leading zeros (0 is the empty string). */
function quantity(v: bigint): Hex {
  if (v === 0n) return "0x";
  const h = v.toString(16);
  return `0x${h.length % 2 === 0 ? h : `0${h}`}`;
}

function trimmed(bytes: Uint8Array): Hex {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  return bytesToHex(bytes.subarray(i));
}

function envelope(fields: (Hex | Hex[])[]): Uint8Array {
  const body = toRlp(fields, "bytes");
  const out = new Uint8Array(body.length + 1);
  out[0] = 0x02;
  out.set(body, 1);
  return out;
}

function senderKey(seed: number, i: number): Hex {
  // keccak of (seed, index): a valid secp256k1 scalar with overwhelming probability.
  return keccak256(`0x${seed.toString(16).padStart(8, "0")}${i.toString(16).padStart(8, "0")}`);
}

export class LoadSigner {
  private readonly keys: Hex[];
  private readonly keyBytes: Uint8Array[];
  private readonly nonces: number[];
  private data: Hex;
  private gas = 60_000n;
  private cursor = 0;

  constructor(private readonly opts: LoadSignerOptions) {
    if (!(opts.senders > 0)) throw new RangeError(`senders must be positive, got ${opts.senders}`);
    const seed = opts.seed ?? 1;
    this.keys = Array.from({ length: opts.senders }, (_, i) => senderKey(seed, i));
    this.keyBytes = this.keys.map((k) => hexToBytes(k));
    this.nonces = new Array<number>(opts.senders).fill(0);
    this.data = "0x";
    // Pad calldata until the signed envelope is the requested size (signature lengths vary by a byte or two).
    const probe = this.signed(this.unsigned(0, 0, "0x"), 0);
    const base = (probe.length - 2) / 2;
    this.data = `0x${"ab".repeat(Math.max(0, opts.txBytes - base - 2))}`;
    // Intake refuses gas below the EIP-7623 calldata floor, which large payloads lift above 60,000
    // (still a 3-byte field up to the largest transaction, so the size calibration holds).
    const least = minimumGas({ to: this.unsigned(0, 0, this.data).to!, data: this.data });
    if (least > this.gas) this.gas = least;
  }

  private unsigned(sender: number, nonce: number, data: Hex): TransactionSerializableEIP1559 {
    return {
      type: "eip1559",
      chainId: this.opts.chainId,
      nonce,
      // Send to the next account: a plain value transfer with calldata, like a typical rollup tx.
      to: `0x${(sender + 1).toString(16).padStart(40, "0")}`,
      value: 1n,
      gas: this.gas,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
      data,
    };
  }

  /**
   * The EIP-1559 envelope 0x02 || rlp([chainId, nonce, tip, maxFee, gas, to, value, data, [], (yParity, r, s)]),
   * RLP-encoded here directly: viem's serializeTransaction validates every field on every call and
   * would cap preparation at ~6,000 transactions/s.
   */
  private signed(tx: TransactionSerializableEIP1559, sender: number): Hex {
    const fields: Hex[] = [
      quantity(BigInt(tx.chainId)),
      quantity(BigInt(tx.nonce ?? 0)),
      quantity(tx.maxPriorityFeePerGas ?? 0n),
      quantity(tx.maxFeePerGas ?? 0n),
      quantity(tx.gas ?? 0n),
      tx.to ?? "0x",
      quantity(tx.value ?? 0n),
      tx.data ?? "0x",
    ];
    const digest = keccak_256(envelope([...fields, []]));
    const { signature, recid } = native.ecdsaSign(digest, this.keyBytes[sender]!);
    return bytesToHex(envelope([...fields, [], quantity(BigInt(recid)), trimmed(signature.subarray(0, 32)), trimmed(signature.subarray(32, 64))]));
  }

  /** Signs the next `count` transactions (senders round-robin, each with its next nonce). */
  sign(count: number): Hex[] {
    const out: Hex[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const sender = this.cursor++ % this.opts.senders;
      const nonce = this.nonces[sender]!++;
      out[i] = this.signed(this.unsigned(sender, nonce, this.data), sender);
    }
    return out;
  }

  /** Re-signs a few transactions with viem's `signTransaction` and compares the bytes. */
  async checkAgainstViem(samples = 3): Promise<void> {
    for (let sender = 0; sender < Math.min(samples, this.opts.senders); sender++) {
      const tx = this.unsigned(sender, 1_000_000 + sender, this.data);
      const ours = this.signed(tx, sender);
      const theirs = await privateKeyToAccount(this.keys[sender]!).signTransaction(tx);
      if (ours !== theirs) throw new PresignMismatchError(`native signing differs from viem for sender ${sender}: ${ours} vs ${theirs}`);
    }
  }
}

/** Pre-signed transactions handed out as JSON-RPC request bodies, topped up before each measurement. */
export class PresignedPool {
  private pool: Hex[] = [];
  private next = 0;
  private id = 0;

  constructor(
    private readonly signer: LoadSigner,
    private readonly method: string,
  ) {}

  get remaining(): number {
    return this.pool.length - this.next;
  }

  /** Signs until at least `count` unused transactions are ready (before a clock starts); returns how many were signed. */
  ensure(count: number): number {
    const missing = count - this.remaining;
    if (missing <= 0) return 0;
    this.pool = [...this.pool.slice(this.next), ...this.signer.sign(missing)];
    this.next = 0;
    return missing;
  }

  /** A request body of `txs` calls (a JSON-RPC batch when more than one), or undefined when the pool ran dry. */
  body(txs = 1): { body: string; txs: number } | undefined {
    if (this.remaining < txs) return undefined;
    const calls: string[] = [];
    for (let k = 0; k < txs; k++) calls.push(`{"jsonrpc":"2.0","id":${this.id++},"method":"${this.method}","params":["${this.pool[this.next++]}"]}`);
    return { body: txs === 1 ? calls[0]! : `[${calls.join(",")}]`, txs };
  }
}
