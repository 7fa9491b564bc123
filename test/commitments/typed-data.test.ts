import { expect } from "chai";
import { type Hex, encodeAbiParameters, keccak256, toHex, zeroAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  type BatchHeader,
  type OrderCommitment,
  InvalidTypedDataError,
  MalformedSignatureError,
  ZERO_HASH,
  batchHash,
  batchHeaderDigest,
  checkSignatureFormat,
  domain,
  orderCommitmentDigest,
  orderCommitmentHash,
  recoverBatchHeaderSigner,
  recoverOrderCommitmentSigner,
  signBatchHeader,
  signOrderCommitment,
} from "../../node/commitments/typed-data.js";

const account = privateKeyToAccount(keccak256(toHex("typed-data-test-key")));
const other = privateKeyToAccount(keccak256(toHex("typed-data-other-key")));
const registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const d = domain(31337, registry);
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const header: BatchHeader = {
  epoch: 3n,
  batchNumber: 1n,
  prevBatchHash: ZERO_HASH,
  firstPosition: 0n,
  lastPosition: 99n,
  merkleRoot: keccak256(toHex("root")),
  dataHash: keccak256(toHex("data")),
};
const cert: OrderCommitment = { epoch: 3n, term: 7n, firstPosition: 10n, lastPosition: 19n, merkleRoot: keccak256(toHex("r")) };

/** Struct hash written out from the EIP-712 spec, independently of viem's hashStruct. */
function manualBatchHash(h: BatchHeader): Hex {
  const typeHash = keccak256(
    toHex(
      "BatchHeader(uint64 epoch,uint64 batchNumber,bytes32 prevBatchHash,uint64 firstPosition,uint64 lastPosition,bytes32 merkleRoot,bytes32 dataHash)",
    ),
  );
  return keccak256(
    encodeAbiParameters(
      ["bytes32", "uint64", "uint64", "bytes32", "uint64", "uint64", "bytes32", "bytes32"].map((type) => ({ type })),
      [typeHash, h.epoch, h.batchNumber, h.prevBatchHash, h.firstPosition, h.lastPosition, h.merkleRoot, h.dataHash],
    ),
  );
}

function manualCertHash(c: OrderCommitment): Hex {
  const typeHash = keccak256(
    toHex("OrderCommitment(uint64 epoch,uint64 term,uint64 firstPosition,uint64 lastPosition,bytes32 merkleRoot)"),
  );
  return keccak256(
    encodeAbiParameters(
      ["bytes32", "uint64", "uint64", "uint64", "uint64", "bytes32"].map((type) => ({ type })),
      [typeHash, c.epoch, c.term, c.firstPosition, c.lastPosition, c.merkleRoot],
    ),
  );
}

describe("commitments/typed-data", () => {
  it("hashes structs exactly as the EIP-712 encoding in docs/protocol.md", () => {
    expect(batchHash(header)).to.equal(manualBatchHash(header));
    expect(orderCommitmentHash(cert)).to.equal(manualCertHash(cert));
    expect(batchHash({ ...header, batchNumber: 2n })).to.not.equal(batchHash(header));
  });

  it("builds the registry domain and rejects bad chain ids and addresses", () => {
    expect(d).to.deep.equal({ name: "StakedSequencer", version: "1", chainId: 31337, verifyingContract: registry });
    expect(domain(1n, registry.toLowerCase() as Hex).verifyingContract).to.equal(registry);
    expect(() => domain(0, registry)).to.throw(InvalidTypedDataError);
    expect(() => domain(1, "0x1234")).to.throw(InvalidTypedDataError);
  });

  it("signs with a viem account and recovers the signer; other domains and structs do not recover it", async () => {
    const sigH = await signBatchHeader(account, d, header);
    const sigC = await signOrderCommitment(account, d, cert);
    checkSignatureFormat(sigH);
    expect(await recoverBatchHeaderSigner(d, header, sigH)).to.equal(account.address);
    expect(await recoverOrderCommitmentSigner(d, cert, sigC)).to.equal(account.address);
    expect(await recoverBatchHeaderSigner(domain(1, registry), header, sigH)).to.not.equal(account.address);
    expect(await recoverBatchHeaderSigner(d, { ...header, lastPosition: 100n }, sigH)).to.not.equal(account.address);
    expect(await recoverBatchHeaderSigner(d, header, await signBatchHeader(other, d, header))).to.equal(other.address);
    expect(batchHeaderDigest(d, header)).to.not.equal(orderCommitmentDigest(d, cert));
  });

  it("rejects signatures L1 would reject: wrong length, bad v, high s", async () => {
    const sig = await signBatchHeader(account, d, header);
    await expectReject(recoverBatchHeaderSigner(d, header, sig.slice(0, 130) as Hex), MalformedSignatureError);
    await expectReject(recoverBatchHeaderSigner(d, header, `${sig.slice(0, 130)}1b00` as Hex), MalformedSignatureError);
    await expectReject(recoverBatchHeaderSigner(d, header, `${sig.slice(0, 130)}01` as Hex), MalformedSignatureError);
    const s = BigInt(`0x${sig.slice(66, 130)}`);
    const highS = `${sig.slice(0, 66)}${(N - s).toString(16).padStart(64, "0")}${sig.slice(130) === "1b" ? "1c" : "1b"}` as Hex;
    await expectReject(recoverOrderCommitmentSigner(d, cert, highS), MalformedSignatureError);
  });

  it("rejects out-of-range fields and inverted ranges with InvalidTypedDataError", async () => {
    expect(() => batchHash({ ...header, epoch: 1n << 64n })).to.throw(InvalidTypedDataError, /epoch/);
    expect(() => batchHash({ ...header, batchNumber: 0n })).to.throw(InvalidTypedDataError, /batchNumber/);
    expect(() => batchHash({ ...header, prevBatchHash: "0x00" })).to.throw(InvalidTypedDataError, /prevBatchHash/);
    expect(() => batchHash({ ...header, lastPosition: 0n, firstPosition: 1n })).to.throw(InvalidTypedDataError, /lastPosition/);
    expect(() => orderCommitmentHash({ ...cert, term: -1n })).to.throw(InvalidTypedDataError, /term/);
    expect(() => orderCommitmentHash({ ...cert, firstPosition: 5 as unknown as bigint })).to.throw(InvalidTypedDataError);
    await expectReject(signOrderCommitment(account, d, { ...cert, merkleRoot: zeroAddress }), InvalidTypedDataError);
  });
});

async function expectReject(p: Promise<unknown>, type: new (...args: never[]) => Error): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(type);
    return;
  }
  expect.fail(`expected a ${type.name}`);
}
