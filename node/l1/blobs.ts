/**
 * EIP-4844 blobs for batch data (docs/batch-format.md, format v3): a batch payload (v1 or v2
 * data) packed into blobs with viem's packing (31 data bytes per 32-byte field element, a 0x80
 * terminator), their KZG commitments and versioned hashes through `c-kzg` with its bundled
 * trusted setup (the ceremony's), and the calldata that references them: `0x03` ‖ the versioned
 * hashes in blob order. Reading back: the blobs of a transaction from the L1 node
 * (`anvil_getBlobsByTransactionHash`), checked against the hashes the inbox checked.
 */
import ckzg from "c-kzg";
import { BaseError, MethodNotFoundRpcError, MethodNotSupportedRpcError, bytesToHex, commitmentToVersionedHash, concatHex, fromBlobs, hexToBytes, sliceHex, toBlobs, type ByteArray, type Hash, type Hex, type Kzg, type PublicClient } from "viem";
import { L1Error } from "./errors.js";

export const BATCH_FORMAT_BLOBS = 3;

/** Payload bytes one blob carries: 4,096 field elements of 31 bytes. */
export const BLOB_PAYLOAD_BYTES = 4096 * 31;

/** The most blobs one transaction carries on Ethereum (EIP-7594 caps it at 6; viem's packing too). */
export const MAX_BLOBS_PER_TX = 6;

/** Payload bytes that fit `blobs` blobs (the terminator takes one). */
export function blobCapacity(blobs: number): number {
  return blobs * BLOB_PAYLOAD_BYTES - 1;
}

/** Blobs that could not be built, read or matched to their versioned hashes. */
export class BlobError extends L1Error {
  override readonly name = "BlobError";
}

let kzg: Kzg | undefined;

/** The KZG of `c-kzg` with its bundled mainnet trusted setup, loaded once per process. */
export function blobKzg(): Kzg {
  if (kzg === undefined) {
    ckzg.loadTrustedSetup(0);
    kzg = {
      blobToKzgCommitment: (blob: ByteArray) => ckzg.blobToKzgCommitment(blob),
      computeBlobKzgProof: (blob: ByteArray, commitment: ByteArray) => ckzg.computeBlobKzgProof(blob, commitment),
    };
  }
  return kzg;
}

/** A batch payload as blobs: what the blob transaction carries and what its calldata references. */
export interface BlobCarrier {
  readonly blobs: readonly Hex[];
  readonly versionedHashes: readonly Hash[];
  /** The batch data of format v3: `0x03` ‖ the versioned hashes. */
  readonly data: Uint8Array;
}

/**
 * `payload` packed into blobs, at most `maxBlobs`.
 * @throws BlobError when it does not fit
 */
export function toBlobCarrier(payload: Uint8Array, maxBlobs: number = MAX_BLOBS_PER_TX): BlobCarrier {
  if (payload.length === 0 || payload.length > blobCapacity(maxBlobs)) {
    throw new BlobError(`a batch payload of ${payload.length} bytes does not fit ${maxBlobs} blobs (1 to ${blobCapacity(maxBlobs)} bytes)`);
  }
  const blobs = toBlobs({ data: bytesToHex(payload) });
  const versionedHashes = versionedHashesOf(blobs);
  return { blobs, versionedHashes, data: hexToBytes(concatHex([bytesToHex(Uint8Array.of(BATCH_FORMAT_BLOBS)), ...versionedHashes])) };
}

/** The versioned hashes (sha256 of the KZG commitment, version byte 0x01) of `blobs`. */
export function versionedHashesOf(blobs: readonly Hex[]): Hash[] {
  const k = blobKzg();
  return blobs.map((blob) => commitmentToVersionedHash({ commitment: bytesToHex(k.blobToKzgCommitment(hexToBytes(blob))) }));
}

/**
 * The versioned hashes v3 batch data references.
 * @throws BlobError when it is not `0x03` followed by one or more 32-byte hashes (the inbox's MalformedBlobReference)
 */
export function decodeBlobReference(data: Hex): Hash[] {
  const bytes = (data.length - 2) / 2;
  if (bytes < 33 || (bytes - 1) % 32 !== 0 || sliceHex(data, 0, 1) !== "0x03") throw new BlobError(`blob-mode batch data of ${bytes} bytes is not 0x03 followed by 32-byte versioned hashes`);
  return Array.from({ length: (bytes - 1) / 32 }, (_, i) => sliceHex(data, 1 + 32 * i, 33 + 32 * i));
}

/**
 * The payload `blobs` carry, once they are shown to be the blobs of `versionedHashes`.
 * @throws BlobError when their number or a commitment's hash differs, or the packing is broken
 */
export function payloadOfBlobs(blobs: readonly Hex[], versionedHashes: readonly Hash[]): Uint8Array {
  if (blobs.length !== versionedHashes.length) throw new BlobError(`${blobs.length} blobs were given for ${versionedHashes.length} versioned hashes`);
  const actual = versionedHashesOf(blobs);
  for (let i = 0; i < blobs.length; i++) {
    if (actual[i] !== versionedHashes[i]) throw new BlobError(`blob ${i} has versioned hash ${actual[i]}, the batch references ${versionedHashes[i]}`);
  }
  return hexToBytes(fromBlobs({ blobs: [...blobs] }));
}

/** Where a reader gets a transaction's blobs: undefined when the source no longer has them (pruned). */
export type BlobSource = (txHash: Hash) => Promise<readonly Hex[] | undefined>;

/**
 * The blobs the L1 node itself serves (Anvil's `anvil_getBlobsByTransactionHash`). A production
 * reader asks a beacon node instead (`/eth/v1/beacon/blob_sidecars/{block_id}`, docs/batch-format.md).
 */
export function nodeBlobSource(client: PublicClient): BlobSource {
  return async (txHash) => {
    let blobs: Hex[] | null;
    try {
      blobs = (await client.request({ method: "anvil_getBlobsByTransactionHash", params: [txHash] } as never)) as Hex[] | null;
    } catch (error) {
      // An execution node without the method (geth, reth) has no blobs to give: the batch is unreadable here, not a failure to retry forever.
      if (error instanceof BaseError && error.walk((e) => e instanceof MethodNotFoundRpcError || e instanceof MethodNotSupportedRpcError) !== null) return undefined;
      throw error;
    }
    return blobs === null || blobs.length === 0 ? undefined : blobs;
  };
}
