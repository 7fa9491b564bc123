/**
 * The L1 anchor of the epoch keys (contracts/EpochKeys.sol): once an epoch's DKG gave a key, the
 * leader asks the epoch's members to sign `EpochKey(epoch, publicKey)` (EIP-712, registry domain)
 * over the `epochKeySignature` request, and once signers holding more than half of the epoch's
 * stake did, it records the key on L1 (`submitEpochKey`). A member signs only the key its own
 * log's DKG gave for that epoch (`EpochKeys.epochKey`), so a leader cannot anchor a key of its own.
 * Every node reads back whether L1 holds the key, for `seq_status`.
 *
 * The transaction is sent from the batcher account through its one nonce manager (`TxSender`),
 * so it never takes a nonce a batch counts on, and is replaced or re-sent like a batch when it
 * waits too long or an L1 reorg loses it (a batch behind its nonce would wait otherwise).
 */
import type { Address, Hex, PublicClient } from "viem";
import { bytesToHex, encodeFunctionData } from "viem";
import { Reader, Writer } from "../codec/index.js";
import type { NodeId } from "../consensus/index.js";
import { gatherStakeMajority, recoverEpochKeySigner, signEpochKey, type SequencerDomain } from "../commitments/index.js";
import { epochKeysAbi } from "../l1/generated/abi.js";
import { gasWithMargin, L1TransactionError } from "../l1/send.js";
import type { TxSender } from "../l1/tx-sender.js";
import type { Logger } from "../ops/logger.js";
import { ThresholdError, g1ToBytes } from "../threshold/index.js";
import { decodeSignatureResponse, encodeSignatureResponse } from "../batching/wire.js";
import type { EpochKeys } from "./epoch-keys.js";

/** How long after a failed attempt the leader tries an epoch again, and how often nodes read L1 back. */
const RETRY_MS = 5_000;
/** Watching the anchoring transaction: blocks before a fee bump, poll interval, and when to give up (then retry). */
const MINED_WAIT = { stuckBlocks: 5, pollMs: 1_000, timeoutMs: 120_000 } as const;

/** A member refuses to sign an epoch key; `shortMessage` says why. */
export class EpochKeySigningRefusedError extends ThresholdError {
  override readonly name = "EpochKeySigningRefusedError";
}

export interface EpochKeyAnchorOptions {
  readonly keys: EpochKeys;
  readonly signer: Parameters<typeof signEpochKey>[0];
  readonly domain: SequencerDomain;
  readonly selfId: NodeId;
  /** The EpochKeys contract; undefined when the deployment has none (nothing is anchored, nothing read). */
  readonly contract: Address | undefined;
  readonly publicClient: PublicClient;
  /** The batcher account's nonce manager (`BatchService.l1Sender`). */
  readonly sender: TxSender;
  readonly logger: Logger;
  /** Sends an `epochKeySignature` request to a member; resolves with its response payload. */
  readonly request: (nodeId: NodeId, payload: Uint8Array, timeoutMs: number) => Promise<Uint8Array>;
  readonly isLeader: () => boolean;
  readonly now?: () => number;
}

export class EpochKeyAnchor {
  private readonly opts: EpochKeyAnchorOptions;
  private readonly now: () => number;
  private readonly anchored = new Set<number>();
  private readonly nextTry = new Map<number, number>();
  private stepping = false;

  constructor(opts: EpochKeyAnchorOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  /** Whether L1 holds `epoch`'s key (as last read); null when the deployment has no EpochKeys contract. */
  isAnchored(epoch: number): boolean | null {
    return this.opts.contract === undefined ? null : this.anchored.has(epoch);
  }

  /** One step: read back the ready epochs' anchors and, as leader, anchor the ones L1 lacks. Steps never overlap. */
  async step(): Promise<void> {
    if (this.stepping || this.opts.contract === undefined) return;
    this.stepping = true;
    try {
      for (const s of this.opts.keys.status()) {
        if (s.state !== "ready" || this.anchored.has(s.epoch) || this.now() < (this.nextTry.get(s.epoch) ?? 0)) continue;
        try {
          await this.anchor(s.epoch);
        } catch (error) {
          this.nextTry.set(s.epoch, this.now() + RETRY_MS);
          this.opts.logger.warn({ epoch: s.epoch, err: (error as Error).message }, "could not anchor the epoch key on L1 yet; retrying");
        }
      }
    } finally {
      this.stepping = false;
    }
  }

  private async anchor(epoch: number): Promise<void> {
    const contract = this.opts.contract!;
    const onL1 = await this.opts.publicClient.readContract({ address: contract, abi: epochKeysAbi, functionName: "hasEpochKey", args: [BigInt(epoch)] });
    if (onL1) {
      this.anchored.add(epoch);
      return;
    }
    this.nextTry.set(epoch, this.now() + RETRY_MS);
    if (!this.opts.isLeader()) return;
    const key = this.opts.keys.epochKey(epoch)!;
    const publicKey = bytesToHex(g1ToBytes(key.key.publicKey));
    const statement = { epoch: BigInt(epoch), publicKey };
    const gathered = new Map<Address, Hex>();
    const result = await gatherStakeMajority(
      key.members,
      gathered,
      async (member) =>
        member.nodeId === this.opts.selfId ? this.sign(epoch, publicKey) : decodeSignatureResponse(await this.opts.request(member.nodeId, encodeEpochKeyRequest(epoch, publicKey), 5_000)),
      (signature) => recoverEpochKeySigner(this.opts.domain, statement, signature),
    );
    if (!result.reached) throw new EpochKeySigningRefusedError(`members holding ${result.signedStake} of ${result.activeStake} stake signed epoch ${epoch}'s key`);
    const call = { address: contract, abi: epochKeysAbi, functionName: "submitEpochKey", args: [BigInt(epoch), publicKey, [...gathered.values()]] } as const;
    const gas = gasWithMargin(await this.opts.publicClient.estimateContractGas({ ...call, account: this.opts.sender.address }));
    const { tx, fate } = await this.opts.sender.sendUntilMined(
      { to: contract, data: encodeFunctionData(call), gas },
      { stuckBlocks: MINED_WAIT.stuckBlocks, pollMs: MINED_WAIT.pollMs, deadline: this.now() + MINED_WAIT.timeoutMs },
    );
    // Reverted: another leader's anchor may have landed first; the next step reads L1 back.
    if (fate === "reverted") throw new L1TransactionError(`the anchoring transaction ${tx.hashes.at(-1)} of epoch ${epoch}'s key reverted`);
    this.anchored.add(epoch);
    this.opts.logger.info({ epoch, publicKey, signers: gathered.size }, "epoch key anchored on L1");
  }

  /** Answers an `epochKeySignature` request: this member's signature of the key its own log gave. */
  async handleSignatureRequest(payload: Uint8Array): Promise<Uint8Array> {
    const { epoch, publicKey } = decodeEpochKeyRequest(payload);
    return encodeSignatureResponse(await this.sign(epoch, publicKey));
  }

  private async sign(epoch: number, publicKey: Hex): Promise<Hex> {
    const own = this.opts.keys.epochKey(epoch);
    if (own === undefined) throw new EpochKeySigningRefusedError(`epoch ${epoch} has no key in this node's log`);
    const mine = bytesToHex(g1ToBytes(own.key.publicKey));
    if (mine !== publicKey.toLowerCase()) throw new EpochKeySigningRefusedError(`this node's log gives epoch ${epoch} the key ${mine}`);
    return signEpochKey(this.opts.signer, this.opts.domain, { epoch: BigInt(epoch), publicKey });
  }
}

export function encodeEpochKeyRequest(epoch: number, publicKey: Hex): Uint8Array {
  const w = new Writer(64);
  w.varint(epoch, "epoch");
  w.hex(publicKey.toLowerCase(), 48, "public key");
  return w.finish();
}

/** @throws CodecError for a payload that is not exactly one request */
export function decodeEpochKeyRequest(payload: Uint8Array): { epoch: number; publicKey: Hex } {
  const r = new Reader(payload, "epoch key signature request");
  const epoch = r.varint("epoch");
  const publicKey = bytesToHex(r.raw(48, "public key"));
  r.end();
  return { epoch, publicKey };
}
