import { expect } from "chai";
import type { Worker } from "node:worker_threads";
import { serializeTransaction, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import {
  DecodePool,
  DecodePoolClosedError,
  DecodeWorkerError,
  IntakeError,
  InvalidSignatureError,
  InvalidTransactionError,
  WrongChainIdError,
  decodeTransactions,
  recoverSenders,
  type DecodeResult,
} from "../../node/intake/index.js";

const CHAIN_ID = 31337;
const OPTS = { chainId: CHAIN_ID, maxBytes: 4096 };
const accounts = [
  privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
  privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"),
];

/** A mix of good transactions from two senders and every kind of reject. */
async function mixedBatch(count: number): Promise<Hex[]> {
  const raws: Hex[] = [];
  for (let i = 0; i < count; i++) {
    const account = accounts[i % 2];
    const base = { to: accounts[0].address, nonce: i, gas: 21_000n, chainId: CHAIN_ID } as const;
    if (i % 10 === 3) raws.push("0xdeadbeef");
    else if (i % 10 === 5) raws.push(await account.signTransaction({ ...base, chainId: 1, maxFeePerGas: 1n }));
    else if (i % 10 === 7) raws.push(`0x${"00".repeat(5000)}`);
    else raws.push(await account.signTransaction({ ...base, maxFeePerGas: 1n }));
  }
  return raws;
}

function summary(results: DecodeResult[]) {
  return results.map((r) => (r.ok ? { from: r.tx.from, hash: r.tx.hash, nonce: r.tx.nonce } : { code: r.error.code, message: r.error.message }));
}

describe("intake: DecodePool and recoverSenders", function () {
  let pool: DecodePool;
  let raws: Hex[];
  before(async () => {
    [pool, raws] = await Promise.all([DecodePool.create({ ...OPTS, size: 2, chunkSize: 16 }), mixedBatch(120)]);
  });
  after(async () => {
    await pool.close();
  });

  it("decodes across workers in input order, identical to the calling thread", async () => {
    const pooled = await pool.decode(raws);
    const local = decodeTransactions(raws, OPTS);
    expect(pooled).to.have.length(raws.length);
    expect(summary(pooled)).to.deep.equal(summary(local));
    expect(pooled.filter((r) => r.ok)).to.have.length(84);
    // Every field survives the structured clone, bigints included.
    expect(pooled.map((r) => (r.ok ? r.tx : null))).to.deep.equal(local.map((r) => (r.ok ? r.tx : null)));
  });

  it("rebuilds typed errors with their fields on this side of the worker boundary", async () => {
    const signedElsewhere = raws[5];
    const [wrongChain] = await pool.decode([signedElsewhere]);
    expect(wrongChain.ok).to.equal(false);
    const error = !wrongChain.ok && wrongChain.error;
    expect(error).to.be.instanceOf(IntakeError).and.instanceOf(WrongChainIdError);
    expect((error as WrongChainIdError).got).to.equal(1n);
    const [unsigned] = await pool.decode([serializeTransaction({ chainId: CHAIN_ID, maxFeePerGas: 1n, gas: 21_000n })]);
    expect(!unsigned.ok && unsigned.error).to.be.instanceOf(InvalidSignatureError);
    const [underpriced] = await pool.decode([await accounts[0].signTransaction({ chainId: CHAIN_ID, to: accounts[0].address, nonce: 0, maxFeePerGas: 1n, gas: 20_999n })]);
    expect(!underpriced.ok && underpriced.error).to.be.instanceOf(InvalidTransactionError);
    expect(!underpriced.ok && (underpriced.error as InvalidTransactionError).reason).to.equal("intrinsic-gas-too-low");
  });

  it("serves concurrent callers", async () => {
    const parts = [raws.slice(0, 40), raws.slice(40, 80), raws.slice(80)];
    const results = await Promise.all(parts.map((part) => pool.decode(part)));
    expect(summary(results.flat())).to.deep.equal(summary(decodeTransactions(raws, OPTS)));
  });

  it("decodeOne: single calls in one event-loop turn share a worker message and keep their own results", async () => {
    const slots = (pool as unknown as { slots: { worker: Worker }[] }).slots;
    const sent: number[] = [];
    const posts = slots.map((slot) => {
      const original = slot.worker.postMessage.bind(slot.worker);
      slot.worker.postMessage = (message: { raws: unknown[] }) => {
        sent.push(message.raws.length);
        original(message);
      };
      return () => (slot.worker.postMessage = original);
    });
    try {
      const results = await Promise.all(raws.slice(0, 30).map((raw) => pool.decodeOne(raw)));
      expect(summary(results)).to.deep.equal(summary(decodeTransactions(raws.slice(0, 30), OPTS)));
      expect(sent, "30 calls travel as two chunks of 16 and 14, not 30 messages").to.deep.equal([16, 14]);
    } finally {
      for (const restore of posts) restore();
    }
  });

  it("recoverSenders gives the same results with and without a pool", async () => {
    const [withPool, withoutPool] = await Promise.all([recoverSenders(raws, { ...OPTS, pool }), recoverSenders(raws, OPTS)]);
    expect(summary(withPool)).to.deep.equal(summary(withoutPool));
    expect(await recoverSenders([], { ...OPTS, pool })).to.deep.equal([]);
  });

  it("rejects a pool size or chunk size that is not a positive integer", async () => {
    for (const bad of [{ size: 0 }, { size: 1.5 }, { chunkSize: 0 }]) {
      let error: unknown;
      await DecodePool.create({ ...OPTS, ...bad }).catch((e: unknown) => (error = e));
      expect(error, JSON.stringify(bad)).to.be.instanceOf(RangeError);
    }
  });

  it("fails the calls in flight on a worker that dies, and replaces the worker", async () => {
    const fragile = await DecodePool.create({ ...OPTS, size: 1 });
    try {
      const slots = (fragile as unknown as { slots: { worker: Worker }[] }).slots;
      const dying = slots[0]!.worker;
      const inFlight = fragile.decode(raws);
      await dying.terminate();
      let error: unknown;
      await inFlight.catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(DecodeWorkerError);
      // The replacement boots asynchronously; once it is up the pool serves again.
      while (slots.length === 0 || slots[0]!.worker === dying) await new Promise((r) => setTimeout(r, 20));
      expect(summary(await fragile.decode(raws.slice(0, 10)))).to.deep.equal(summary(decodeTransactions(raws.slice(0, 10), OPTS)));
    } finally {
      await fragile.close();
    }
  });

  it("refuses work once closed", async () => {
    const closing = await DecodePool.create({ ...OPTS, size: 1 });
    expect((await closing.decode(raws.slice(0, 2))).every((r) => r.ok)).to.equal(true);
    await closing.close();
    await closing.close();
    let error: unknown;
    await closing.decode(raws.slice(0, 1)).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(DecodePoolClosedError);
    error = undefined;
    await closing.decodeOne(raws[0]!).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(DecodePoolClosedError);
  });
});
