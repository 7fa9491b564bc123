/**
 * The batcher's sending layer, apart from what a transaction carries: one nonce manager for the
 * account (nonces handed out one after the other, so transactions can wait in the mempool in
 * order), fees from the market under the operator's caps (`fees.ts`), replacement of a stuck
 * transaction under the same nonce with the bump the client requires, and the fate of every hash
 * sent under a nonce. A calldata transaction and a blob transaction (its blobs and KZG in
 * `blobs`) go through the same calls; only the fee fields and the bump differ by kind.
 */
import { BaseError, type Account, type Address, type ByteArray, type Chain, type Hash, type Hex, type Kzg, type PublicClient, type Transport, type WalletClient } from "viem";
import { L1Error } from "./errors.js";
import { freshFees, replacementFees, type FeeCaps, type FeeMarket, type Fees, type TxKind } from "./fees.js";

/** What a transaction carries: the payload's part, built by its writer (`inbox-writer.ts`). */
export interface TxRequest {
  readonly to: Address;
  readonly data: Hex;
  readonly gas: bigint;
  /** A blob (type-3) transaction: its blobs and the KZG to commit to them. */
  readonly blobs?: { readonly blobs: readonly Hex[] | readonly ByteArray[]; readonly kzg: Kzg };
}

/** A transaction this sender sent, and every replacement of it under the same nonce. */
export interface SentTx {
  readonly nonce: number;
  readonly kind: TxKind;
  readonly request: TxRequest;
  /** Every hash sent under this nonce, the latest last: any one of them may be the one mined. */
  readonly hashes: Hash[];
  /** The fees of the latest. */
  fees: Fees;
  /** The L1 head when the latest was sent. */
  sentBlock: bigint;
  replacements: number;
}

/** Whether a sent transaction was mined (and how), still waits in the L1 node's pool, or is unknown to it. */
export type TxFate = "included" | "reverted" | "pending" | "unknown";

/** An L1 call of the sender failed (what the L1 node said). */
export class TxSendError extends L1Error {
  override readonly name = "TxSendError";
}

export interface TxSenderOptions {
  readonly publicClient: PublicClient;
  readonly wallet: WalletClient<Transport, Chain, Account>;
  readonly caps: FeeCaps;
}

/** How a one-off transaction ({@link TxSender.sendUntilMined}) is watched until it is mined. */
export interface MinedWait {
  /** Blocks it may wait in the pool before it is replaced with the bump. */
  readonly stuckBlocks: number;
  /** How often its fate is read. */
  readonly pollMs: number;
  /** When waiting gives up (epoch ms). */
  readonly deadline: number;
}

export class TxSender {
  /** The nonce of the account's next transaction; read from the L1 node's pending count when unknown. */
  private nonce: number | undefined;
  /** The last send or replacement: the next waits for it, so two callers never take one nonce. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: TxSenderOptions) {}

  get address(): Address {
    return this.opts.wallet.account.address;
  }

  /** The fee market of the next block: its base fee, the node's suggested tip, and for blobs the blob base fee. */
  async market(kind: TxKind): Promise<FeeMarket & { readonly head: bigint }> {
    const { publicClient } = this.opts;
    const [block, priorityFeePerGas, blobBaseFee] = await call(() =>
      Promise.all([
        publicClient.getBlock({ blockTag: "pending" }),
        publicClient.estimateMaxPriorityFeePerGas(),
        kind === "eip4844" ? publicClient.getBlobBaseFee() : Promise.resolve(undefined),
      ]),
    );
    if (block.baseFeePerGas === null) throw new TxSendError("the L1's pending block has no base fee: the chain has no EIP-1559");
    // A pending block's number is the head's plus one (some nodes leave it null: the fee fields are what matter).
    const head = block.number === null ? await call(() => publicClient.getBlockNumber()) : block.number - 1n;
    return { baseFeePerGas: block.baseFeePerGas, priorityFeePerGas, head, ...(blobBaseFee === undefined ? {} : { blobBaseFee }) };
  }

  /**
   * Sends `request` with the account's next nonce and fresh fees within the caps.
   * @throws FeeCapExceededError when the L1's base fee is above its cap (nothing sent, no nonce used)
   * @throws TxSendError when the L1 node refuses it (the next send asks the node for the nonce again)
   */
  send(request: TxRequest): Promise<SentTx> {
    return this.inTurn(() => this.sendNow(request));
  }

  private async sendNow(request: TxRequest): Promise<SentTx> {
    const kind: TxKind = request.blobs === undefined ? "eip1559" : "eip4844";
    const market = await this.market(kind);
    const fees = freshFees(market, this.opts.caps, kind);
    const nonce = this.nonce ?? (await call(() => this.opts.publicClient.getTransactionCount({ address: this.address, blockTag: "pending" })));
    let hash: Hash;
    try {
      hash = await this.submit(request, nonce, fees);
    } catch (error) {
      this.nonce = undefined; // maybe taken by another sender of this account, maybe never used: ask the node again
      throw error;
    }
    this.nonce = nonce + 1;
    return { nonce, kind, request, hashes: [hash], fees, sentBlock: market.head, replacements: 0 };
  }

  /**
   * Sends `tx` again under its nonce with the bump its kind requires over its latest fees (or the
   * market's, if higher), and records the new hash in `tx`.
   * @throws FeeCapExceededError when the bump would exceed a cap (nothing sent: the L1 node would refuse less)
   * @throws TxSendError when the L1 node refuses it (e.g. one of its hashes was mined meanwhile)
   */
  replace(tx: SentTx): Promise<Hash> {
    return this.inTurn(() => this.replaceNow(tx));
  }

  private async replaceNow(tx: SentTx): Promise<Hash> {
    const market = await this.market(tx.kind);
    const fees = replacementFees(tx.fees, market, this.opts.caps, tx.kind);
    const hash = await this.submit(tx.request, tx.nonce, fees);
    tx.hashes.push(hash);
    tx.fees = fees;
    tx.sentBlock = market.head;
    tx.replacements++;
    return hash;
  }

  /**
   * Sends a one-off transaction of the account (not one of the batch pipeline's) and waits until
   * it is mined: replaced with the bump once it waited `stuckBlocks`, sent again under a fresh
   * nonce when the L1 node lost it (a later batch would otherwise wait behind its nonce forever).
   * @returns whether it succeeded or reverted when mined
   * @throws TxSendError when `deadline` passes first, or the L1 node refuses it
   */
  async sendUntilMined(request: TxRequest, wait: MinedWait): Promise<{ readonly tx: SentTx; readonly fate: "included" | "reverted" }> {
    let tx = await this.send(request);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, wait.pollMs));
      const fate = await this.fate(tx).catch(() => "unread" as const); // an L1 node out for a while: read again
      if (fate === "included" || fate === "reverted") return { tx, fate };
      if (Date.now() > wait.deadline) throw new TxSendError(`transaction ${tx.hashes.at(-1)} (nonce ${tx.nonce}) was not mined in time`);
      if (fate === "unread") continue;
      if (fate === "unknown") {
        this.resetNonce();
        tx = await this.send(request);
        continue;
      }
      const head = await call(() => this.opts.publicClient.getBlockNumber()).catch(() => tx.sentBlock);
      if (head - tx.sentBlock >= BigInt(wait.stuckBlocks)) await this.replace(tx).catch(() => undefined); // capped, or raced by its mining: the next read tells
    }
  }

  /** Forget the next nonce (a transaction of the sequence was dropped or failed): the next send asks the L1 node. */
  resetNonce(): void {
    this.nonce = undefined;
  }

  /** The fate of `tx`: the first of its hashes the L1 node has a receipt for, else whether any still waits in its pool. */
  async fate(tx: SentTx): Promise<TxFate> {
    const { publicClient } = this.opts;
    for (const hash of [...tx.hashes].reverse()) {
      const receipt = await call(() => publicClient.getTransactionReceipt({ hash }).catch(notFoundAs(undefined)));
      if (receipt !== undefined) return receipt.status === "success" ? "included" : "reverted";
    }
    for (const hash of [...tx.hashes].reverse()) {
      const known = await call(() => publicClient.getTransaction({ hash }).catch(notFoundAs(undefined)));
      if (known !== undefined) return "pending";
    }
    return "unknown";
  }

  private async submit(request: TxRequest, nonce: number, fees: Fees): Promise<Hash> {
    const { wallet } = this.opts;
    const base = { account: wallet.account, chain: wallet.chain, to: request.to, data: request.data, gas: request.gas, nonce, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
    return call(() =>
      request.blobs === undefined
        ? wallet.sendTransaction(base)
        : wallet.sendTransaction({ ...base, blobs: request.blobs.blobs, kzg: request.blobs.kzg, maxFeePerBlobGas: fees.maxFeePerBlobGas! } as Parameters<typeof wallet.sendTransaction>[0]),
    );
  }

  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.catch(() => undefined);
    return run;
  }
}

/** viem throws for a missing transaction or receipt; that answer is `value` here. */
function notFoundAs<T>(value: T): (error: unknown) => T {
  return (error) => {
    const name = (error as Error).name;
    if (name === "TransactionNotFoundError" || name === "TransactionReceiptNotFoundError") return value;
    throw error;
  };
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof L1Error) throw error;
    throw new TxSendError(error instanceof BaseError ? error.shortMessage : (error as Error).message, { cause: error });
  }
}
