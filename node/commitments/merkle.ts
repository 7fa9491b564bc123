/**
 * Positional Merkle tree over (position, txHash) leaves, exactly as `docs/protocol.md`
 * defines it and `contracts/libraries/PositionalMerkle.sol` verifies it:
 *
 * - leaf(position, txHash) = keccak256(abi.encode(uint256(position), bytes32(txHash)))
 * - parents are keccak256(left ‖ right) of pairs (2k, 2k+1), unsorted;
 * - a last node without a sibling is carried up unchanged (no duplication, no padding);
 * - a proof lists siblings bottom-up and skips the levels where the node is carried.
 *
 * Hashing works on raw bytes: every level is one flat buffer of `32 * size` bytes, so a
 * pair `(2k, 2k+1)` is the contiguous slice `[64k, 64k + 64)` and is hashed without a copy.
 * Hex (`0x…`) is only used at the API edges (proofs, roots) where callers need it.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { CommitmentError } from "./errors.js";

export type Hex = `0x${string}`;
/** A 32-byte hash, as raw bytes or as 0x-prefixed hex. */
export type Bytes32Like = Uint8Array | Hex | string;

const MAX_UINT64 = (1n << 64n) - 1n;
const HASH_BYTES = 32;

/** Base class of every error this module throws: all are caused by bad input. */
export class MerkleError extends CommitmentError {
  override name = "MerkleError";
}

/** A hash argument is not 32 bytes (or not valid hex). */
export class InvalidHashError extends MerkleError {
  override name = "InvalidHashError";
  constructor(
    readonly what: string,
    readonly value: unknown,
    options?: { cause?: unknown },
  ) {
    super(`${what} must be 32 bytes (0x + 64 hex digits or a 32-byte Uint8Array), got ${describe(value)}`, options);
  }
}

/** A position is not an integer in [0, 2^64). */
export class InvalidPositionError extends MerkleError {
  override name = "InvalidPositionError";
  constructor(readonly position: unknown) {
    super(`position must be an integer in [0, 2^64), got ${describe(position)}`);
  }
}

/** A tree needs at least one leaf (a certificate or batch covers at least one position). */
export class EmptyTreeError extends MerkleError {
  override name = "EmptyTreeError";
  constructor() {
    super("a Merkle tree needs at least one leaf");
  }
}

/** A leaf index outside `[0, count)`. */
export class LeafIndexOutOfRangeError extends MerkleError {
  override name = "LeafIndexOutOfRangeError";
  constructor(
    readonly index: unknown,
    readonly count: number,
  ) {
    super(`leaf index ${describe(index)} is outside [0, ${count})`);
  }
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (typeof value === "string") return value.length > 80 ? `"${value.slice(0, 77)}..."` : `"${value}"`;
  if (typeof value === "bigint") return `${value}n`;
  return String(value);
}

/** Raw 32 bytes of a hash argument; hex is decoded, bytes are used as they are (no copy). */
export function toHashBytes(value: Bytes32Like, what = "hash"): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== HASH_BYTES) throw new InvalidHashError(what, value);
    return value;
  }
  if (typeof value !== "string" || value.length !== 66 || !value.startsWith("0x")) {
    throw new InvalidHashError(what, value);
  }
  try {
    return hexToBytes(value.slice(2));
  } catch (cause) {
    throw new InvalidHashError(what, value, { cause });
  }
}

/** 0x-prefixed lowercase hex of raw bytes. */
export function toHex(bytes: Uint8Array): Hex {
  return `0x${bytesToHex(bytes)}`;
}

function positionToBigInt(position: bigint | number): bigint {
  if (typeof position === "number") {
    if (!Number.isSafeInteger(position) || position < 0) throw new InvalidPositionError(position);
    return BigInt(position);
  }
  if (typeof position !== "bigint" || position < 0n || position > MAX_UINT64) {
    throw new InvalidPositionError(position);
  }
  return position;
}

/**
 * `keccak256(abi.encode(uint256(position), bytes32(txHash)))` as 32 raw bytes.
 * @throws InvalidPositionError, InvalidHashError
 */
export function leafHash(position: bigint | number, txHash: Bytes32Like): Uint8Array {
  const buf = new Uint8Array(64);
  writeLeafPreimage(buf, positionToBigInt(position), toHashBytes(txHash, "txHash"));
  return keccak_256(buf);
}

/** Hex form of {@link leafHash}. */
export function leafHashHex(position: bigint | number, txHash: Bytes32Like): Hex {
  return toHex(leafHash(position, txHash));
}

function writeLeafPreimage(buf: Uint8Array, position: bigint, txHash: Uint8Array): void {
  buf.fill(0, 0, 24);
  // uint64 fits in the low 8 bytes of the uint256 word.
  new DataView(buf.buffer, buf.byteOffset, 32).setBigUint64(24, position);
  buf.set(txHash, 32);
}

/**
 * A built tree. `levels[0]` holds the leaves and `levels[levels.length - 1]` the root;
 * each level is a flat buffer of `32 * size` bytes.
 */
export interface MerkleTree {
  readonly count: number;
  readonly levels: readonly Uint8Array[];
}

/**
 * Builds every level of the positional tree over `leaves` (already hashed leaves, in order).
 * @throws EmptyTreeError, InvalidHashError
 */
export function buildMerkleTree(leaves: readonly Bytes32Like[]): MerkleTree {
  const count = leaves.length;
  if (count === 0) throw new EmptyTreeError();
  const level0 = new Uint8Array(count * HASH_BYTES);
  for (let i = 0; i < count; i++) level0.set(toHashBytes(leaves[i]!, `leaves[${i}]`), i * HASH_BYTES);
  return buildFromLevel0(level0, count);
}

/**
 * Builds the tree of a contiguous range: leaf `i` is `leaf(firstPosition + i, txHashes[i])`.
 * This is what a certificate or a batch commits to.
 * @throws EmptyTreeError, InvalidPositionError, InvalidHashError
 */
export function buildPositionalTree(firstPosition: bigint | number, txHashes: readonly Bytes32Like[]): MerkleTree {
  const count = txHashes.length;
  if (count === 0) throw new EmptyTreeError();
  const first = positionToBigInt(firstPosition);
  positionToBigInt(first + BigInt(count - 1)); // the last position must fit in uint64 too
  const level0 = new Uint8Array(count * HASH_BYTES);
  const scratch = new Uint8Array(64);
  for (let i = 0; i < count; i++) {
    writeLeafPreimage(scratch, first + BigInt(i), toHashBytes(txHashes[i]!, `txHashes[${i}]`));
    level0.set(keccak_256(scratch), i * HASH_BYTES);
  }
  return buildFromLevel0(level0, count);
}

function buildFromLevel0(level0: Uint8Array, count: number): MerkleTree {
  const levels: Uint8Array[] = [level0];
  let current = level0;
  let size = count;
  while (size > 1) {
    const nextSize = (size + 1) >> 1;
    const next = new Uint8Array(nextSize * HASH_BYTES);
    const pairs = size >> 1;
    for (let k = 0; k < pairs; k++) {
      next.set(keccak_256(current.subarray(k * 64, k * 64 + 64)), k * HASH_BYTES);
    }
    if (size & 1) next.set(current.subarray((size - 1) * HASH_BYTES, size * HASH_BYTES), pairs * HASH_BYTES);
    levels.push(next);
    current = next;
    size = nextSize;
  }
  return { count, levels };
}

/** Root of a built tree (raw bytes). */
export function merkleRootBytes(tree: MerkleTree): Uint8Array {
  return tree.levels[tree.levels.length - 1]!.slice(0, HASH_BYTES);
}

/**
 * Root as hex, of a built tree or directly of a list of hashed leaves.
 * @throws EmptyTreeError, InvalidHashError (when given leaves)
 */
export function merkleRoot(treeOrLeaves: MerkleTree | readonly Bytes32Like[]): Hex {
  const tree = isTree(treeOrLeaves) ? treeOrLeaves : buildMerkleTree(treeOrLeaves);
  return toHex(merkleRootBytes(tree));
}

function isTree(value: MerkleTree | readonly Bytes32Like[]): value is MerkleTree {
  return !Array.isArray(value);
}

/** Hashed leaf `index` of a built tree, as hex. */
export function leafAt(tree: MerkleTree, index: number): Hex {
  checkIndex(index, tree.count);
  return toHex(tree.levels[0]!.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES));
}

function checkIndex(index: number, count: number): void {
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) throw new LeafIndexOutOfRangeError(index, count);
}

/**
 * Proof for leaf `index`: siblings bottom-up, skipping levels where the node is carried up.
 * @throws LeafIndexOutOfRangeError
 */
export function merkleProof(tree: MerkleTree, index: number): Hex[] {
  checkIndex(index, tree.count);
  const proof: Hex[] = [];
  let i = index;
  let size = tree.count;
  for (let l = 0; size > 1; l++) {
    if (!(i === size - 1 && size & 1)) {
      const s = i ^ 1;
      proof.push(toHex(tree.levels[l]!.subarray(s * HASH_BYTES, (s + 1) * HASH_BYTES)));
    }
    i >>= 1;
    size = (size + 1) >> 1;
  }
  return proof;
}

/**
 * Checks that `leaf` is leaf number `index` of a `count`-leaf tree with root `root`.
 * Returns false for any proof that does not show exactly that (wrong index, count, leaf,
 * length, or sibling); an index outside `[0, count)` is simply not provable.
 * @throws InvalidHashError when an argument is not a 32-byte hash at all
 */
export function verifyMerkleProof(
  leaf: Bytes32Like,
  index: number | bigint,
  count: number | bigint,
  proof: readonly Bytes32Like[],
  root: Bytes32Like,
): boolean {
  const rootBytes = toHashBytes(root, "root");
  const siblings = proof.map((p, k) => toHashBytes(p, `proof[${k}]`));
  if (!isInteger(index) || !isInteger(count)) return false;
  let i = BigInt(index);
  let size = BigInt(count);
  if (size <= 0n || i < 0n || i >= size) return false;
  const pair = new Uint8Array(64);
  let node = toHashBytes(leaf, "leaf");
  let used = 0;
  while (size > 1n) {
    if (!(i === size - 1n && (size & 1n) === 1n)) {
      if (used === siblings.length) return false;
      const sibling = siblings[used++]!;
      if ((i & 1n) === 0n) {
        pair.set(node, 0);
        pair.set(sibling, 32);
      } else {
        pair.set(sibling, 0);
        pair.set(node, 32);
      }
      node = keccak_256(pair);
    }
    i >>= 1n;
    size = (size + 1n) >> 1n;
  }
  return used === siblings.length && equalBytes(node, rootBytes);
}

function isInteger(value: number | bigint): boolean {
  return typeof value === "bigint" || Number.isSafeInteger(value);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let k = 0; k < a.length; k++) diff |= a[k]! ^ b[k]!;
  return diff === 0;
}
