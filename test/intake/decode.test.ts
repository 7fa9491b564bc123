import { expect } from "chai";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import {
  concatHex,
  fromRlp,
  hexToBigInt,
  hexToBytes,
  keccak256,
  numberToHex,
  recoverTransactionAddress,
  serializeTransaction,
  toRlp,
  type Hex,
  type TransactionSerializable,
} from "viem";
import { privateKeyToAccount, sign } from "viem/accounts";

import {
  InvalidSignatureError,
  InvalidTransactionError,
  MalformedTransactionError,
  TransactionTooLargeError,
  UnsupportedTransactionTypeError,
  WrongChainIdError,
  decodeTransaction,
  decodeTransactions,
  getDefaultBackend,
  loadNativeBackend,
  nobleBackend,
  publicKeyToAddress,
  selectRecoveryBackend,
  type IntakeError,
  type InvalidSignatureReason,
  type InvalidTransactionReason,
  type RecoveryBackend,
} from "../../node/intake/index.js";

const CHAIN_ID = 31337;
const OPTS = { chainId: CHAIN_ID, maxBytes: 128 * 1024 };
const N = secp256k1.Point.CURVE().n;
const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const account = privateKeyToAccount(KEY);
const TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const common = { to: TO, value: 10n ** 18n, gas: 50_000n, nonce: 7, chainId: CHAIN_ID, data: "0xa9059cbb" } as const;

async function signedOfEveryType() {
  const authorization = await account.signAuthorization({ address: TO, chainId: CHAIN_ID, nonce: 8 });
  const txs: TransactionSerializable[] = [
    { ...common, type: "legacy", gasPrice: 3n },
    { ...common, type: "eip2930", gasPrice: 3n, accessList: [{ address: TO, storageKeys: [keccak256("0x01")] }] },
    { ...common, type: "eip1559", maxFeePerGas: 5n, maxPriorityFeePerGas: 2n },
    { ...common, type: "eip7702", maxFeePerGas: 5n, maxPriorityFeePerGas: 2n, authorizationList: [authorization] },
  ];
  return Promise.all(txs.map(async (tx) => ({ tx, raw: await account.signTransaction(tx as never) })));
}

/** RLP fields of a typed envelope (type byte stripped) or of a legacy transaction. */
function fieldsOf(raw: Hex): Hex[] {
  const typed = hexToBigInt(`0x${raw.slice(2, 4)}`) < 0xc0n;
  return fromRlp(typed ? `0x${raw.slice(4)}` : raw, "hex") as Hex[];
}
function encode(raw: Hex, fields: unknown[]): Hex {
  const typed = hexToBigInt(`0x${raw.slice(2, 4)}`) < 0xc0n;
  const body = toRlp(fields as Hex[]);
  return typed ? concatHex([raw.slice(0, 4) as Hex, body]) : body;
}
/** Re-encodes `raw` with its last three fields (v/yParity, r, s) edited. */
function withSignature(raw: Hex, edit: (v: Hex, r: Hex, s: Hex) => [Hex, Hex, Hex]): Hex {
  const fields = fieldsOf(raw);
  const [v, r, s] = fields.slice(-3) as [Hex, Hex, Hex];
  return encode(raw, [...fields.slice(0, -3), ...edit(v, r, s)]);
}

function expectIntakeError<E extends IntakeError>(fn: () => unknown, type: new (...args: never[]) => E, code: string): E {
  try {
    fn();
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(type);
    expect((error as E).code).to.equal(code);
    return error as E;
  }
  expect.fail(`expected ${type.name}`);
}
function expectTransactionError(raw: Hex, reason: InvalidTransactionReason, message: RegExp) {
  const error = expectIntakeError(() => decodeTransaction(raw, OPTS), InvalidTransactionError, "INVALID_TRANSACTION");
  expect(error.reason).to.equal(reason);
  expect(error.message).to.match(message);
}
/** The unsigned fields of a typed envelope (`typeByte`), signed by KEY: any field values, valid or not. */
async function signFields(typeByte: Hex, fields: unknown[]): Promise<Hex> {
  const hash = keccak256(concatHex([typeByte, toRlp(fields as Hex[])]));
  const sig = await sign({ hash, privateKey: KEY });
  const signature = [sig.yParity === 1 ? "0x01" : "0x", numberToHex(hexToBigInt(sig.r)), numberToHex(hexToBigInt(sig.s))];
  return concatHex([typeByte, toRlp([...fields, ...signature] as Hex[])]);
}

function expectSignatureError(raw: Hex, reason: InvalidSignatureReason, backend?: RecoveryBackend) {
  const error = expectIntakeError(() => decodeTransaction(raw, { ...OPTS, backend }), InvalidSignatureError, "INVALID_SIGNATURE");
  expect(error.reason).to.equal(reason);
}

describe("intake: decodeTransaction", () => {
  let signed: Awaited<ReturnType<typeof signedOfEveryType>>;
  before(async () => {
    signed = await signedOfEveryType();
  });

  it("uses the native libsecp256k1 binding on this platform, not the elliptic fallback", () => {
    expect(loadNativeBackend().name).to.equal("native");
    expect(getDefaultBackend().name).to.equal("native");
  });

  it("falls back to noble, with a warning saying why, when the native binding cannot load", async () => {
    const warned = new Promise<Error & { code?: string }>((resolve) => process.once("warning", resolve));
    const backend = selectRecoveryBackend(() => {
      throw new Error("no prebuild for this platform");
    });
    expect(backend.name).to.equal("noble");
    const warning = await warned;
    expect(warning.code).to.equal("SEQ_SECP256K1_FALLBACK");
    expect(warning.message).to.contain("no prebuild for this platform");
    expect(decodeTransaction(signed[2].raw, { ...OPTS, backend }).from).to.equal(account.address);
  });

  for (const backend of [loadNativeBackend(), nobleBackend]) {
    it(`decodes viem-signed legacy, eip2930, eip1559 and eip7702 transactions (${backend.name})`, async () => {
      for (const { tx, raw } of signed) {
        const decoded = decodeTransaction(raw, { ...OPTS, backend });
        expect(decoded.type).to.equal(tx.type);
        expect(decoded.from).to.equal(account.address);
        expect(decoded.from).to.equal(await recoverTransactionAddress({ serializedTransaction: raw as never }));
        expect(decoded.hash).to.equal(keccak256(raw));
        expect(decoded.raw).to.equal(raw);
        expect(decoded.size).to.equal(hexToBytes(raw).length);
        expect(decoded.chainId).to.equal(CHAIN_ID);
        expect(decoded.nonce).to.equal(7);
        expect(decoded.to).to.equal(TO.toLowerCase());
        expect(decoded.value).to.equal(10n ** 18n);
        expect(decoded.gas).to.equal(50_000n);
        expect(decoded.data).to.equal("0xa9059cbb");
        expect(decoded.signingHash).to.equal(keccak256(serializeTransaction(tx)));
      }
    });
  }

  it("returns the type-specific fields", () => {
    const [legacy, eip2930, eip1559, eip7702] = signed.map(({ raw }) => decodeTransaction(raw, OPTS));
    expect(legacy.gasPrice).to.equal(3n);
    expect(legacy.accessList).to.equal(undefined);
    expect(eip2930.accessList).to.deep.equal([{ address: TO.toLowerCase(), storageKeys: [keccak256("0x01")] }]);
    expect(eip1559.maxFeePerGas).to.equal(5n);
    expect(eip1559.maxPriorityFeePerGas).to.equal(2n);
    expect(eip1559.gasPrice).to.equal(undefined);
    expect(eip7702.authorizationList).to.have.length(1);
    expect(eip7702.authorizationList![0].nonce).to.equal(8);
  });

  it("accepts bytes and upper-case hex, and decodes contract creation with to = null", async () => {
    const raw = await account.signTransaction({ type: "eip1559", chainId: CHAIN_ID, nonce: 0, gas: 100_000n, maxFeePerGas: 1n, data: "0x6000" });
    const decoded = decodeTransaction(hexToBytes(raw), OPTS);
    expect(decoded.to).to.equal(null);
    expect(decoded.from).to.equal(account.address);
    expect(decodeTransaction(`0x${raw.slice(2).toUpperCase()}`, OPTS).hash).to.equal(decoded.hash);
  });

  it("accepts a bigint chain id option", () => {
    expect(decodeTransaction(signed[2].raw, { ...OPTS, chainId: BigInt(CHAIN_ID) }).from).to.equal(account.address);
  });

  describe("rejects malformed input", () => {
    const cases: [string, () => Hex | Uint8Array][] = [
      ["non-hex characters", () => "0xzz" as Hex],
      ["an odd number of hex digits", () => "0x02f" as Hex],
      ["no 0x prefix", () => signed[2].raw.slice(2) as Hex],
      ["empty hex", () => "0x"],
      ["empty bytes", () => new Uint8Array()],
      ["an RLP string where a list or type byte belongs", () => "0x8180"],
      ["an empty legacy list", () => "0xc0"],
      ["a typed envelope with an empty body", () => "0x02c0"],
      ["a truncated transaction", () => signed[2].raw.slice(0, -2) as Hex],
      ["trailing bytes", () => `${signed[2].raw}00`],
      ["a non-canonical integer (leading zero in the nonce)", () => {
        const fields = fieldsOf(signed[2].raw);
        fields[1] = "0x0007";
        return encode(signed[2].raw, fields);
      }],
      ["a legacy transaction with a non-canonical nonce", () => {
        const fields = fieldsOf(signed[0].raw);
        fields[0] = "0x0007";
        return encode(signed[0].raw, fields);
      }],
      ["a 19-byte to address", () => {
        const fields = fieldsOf(signed[2].raw);
        fields[5] = `0x${TO.slice(4)}`;
        return encode(signed[2].raw, fields);
      }],
      ["an eip7702 transaction without authorizations", () => {
        const fields = fieldsOf(signed[3].raw);
        fields[9] = [] as never;
        return encode(signed[3].raw, fields);
      }],
      ["an eip7702 transaction creating a contract", () => {
        const fields = fieldsOf(signed[3].raw);
        fields[5] = "0x";
        return encode(signed[3].raw, fields);
      }],
    ];
    for (const [name, input] of cases) {
      it(name, () => {
        expectIntakeError(() => decodeTransaction(input(), OPTS), MalformedTransactionError, "MALFORMED_TRANSACTION");
      });
    }
  });

  it("rejects blob transactions (type 3) saying why", () => {
    const error = expectIntakeError(
      () => decodeTransaction(concatHex(["0x03", signed[2].raw.slice(4) as Hex]), OPTS),
      UnsupportedTransactionTypeError,
      "UNSUPPORTED_TRANSACTION_TYPE",
    );
    expect(error.txType).to.equal(3);
    expect(error.message).to.match(/blob/);
  });

  it("rejects unknown transaction types", () => {
    for (const type of ["0x00", "0x05", "0x7f"] as const) {
      const error = expectIntakeError(
        () => decodeTransaction(concatHex([type, signed[2].raw.slice(4) as Hex]), OPTS),
        UnsupportedTransactionTypeError,
        "UNSUPPORTED_TRANSACTION_TYPE",
      );
      expect(error.txType).to.equal(Number(type));
    }
  });

  it("rejects transactions signed for another chain, of every type", async () => {
    for (const { tx } of signed) {
      const raw = await account.signTransaction({ ...tx, chainId: 1 } as never);
      const error = expectIntakeError(() => decodeTransaction(raw, OPTS), WrongChainIdError, "WRONG_CHAIN_ID");
      expect(error.got).to.equal(1n);
      expect(error.expected).to.equal(BigInt(CHAIN_ID));
    }
  });

  it("rejects a typed transaction with chain id 0", () => {
    const fields = fieldsOf(signed[2].raw);
    fields[0] = "0x";
    const error = expectIntakeError(() => decodeTransaction(encode(signed[2].raw, fields), OPTS), WrongChainIdError, "WRONG_CHAIN_ID");
    expect(error.got).to.equal(0n);
  });

  it("rejects pre-EIP-155 legacy transactions (no chain id) explaining replay", async () => {
    const raw = await account.signTransaction({ type: "legacy", to: TO, nonce: 1, gas: 21_000n, gasPrice: 1n });
    expect(hexToBigInt(fieldsOf(raw)[6])).to.be.oneOf([27n, 28n]);
    const error = expectIntakeError(() => decodeTransaction(raw, OPTS), WrongChainIdError, "WRONG_CHAIN_ID");
    expect(error.got).to.equal(undefined);
    expect(error.message).to.match(/EIP-155/).and.to.match(/replay/);
  });

  it("rejects transactions over maxBytes before parsing them, as hex or bytes", () => {
    const raw = signed[2].raw;
    const size = hexToBytes(raw).length;
    for (const input of [raw, hexToBytes(raw), `${raw}zz` as Hex]) {
      const error = expectIntakeError(
        () => decodeTransaction(input, { ...OPTS, maxBytes: size - 1 }),
        TransactionTooLargeError,
        "TRANSACTION_TOO_LARGE",
      );
      expect(error.maxBytes).to.equal(size - 1);
    }
    expect(decodeTransaction(raw, { ...OPTS, maxBytes: size }).from).to.equal(account.address);
  });

  describe("rejects bad signatures", () => {
    it("unsigned typed and EIP-155 legacy transactions", () => {
      for (const { tx } of signed) expectSignatureError(serializeTransaction(tx), "missing");
    });

    it("high-s (the malleated twin of a valid signature)", () => {
      for (const { raw } of signed) {
        const typed = !raw.startsWith("0xf");
        const malleated = withSignature(raw, (v, r, s) => {
          // EIP-155 v = chainId * 2 + 35 + yParity; typed envelopes carry yParity itself.
          const legacyFlip = (legacyV: bigint) => numberToHex(legacyV % 2n === 1n ? legacyV + 1n : legacyV - 1n);
          const flippedV = typed ? (v === "0x" ? "0x01" : "0x") : legacyFlip(hexToBigInt(v));
          return [flippedV as Hex, r, numberToHex(N - hexToBigInt(s))];
        });
        // Still a valid ECDSA signature by the same key: only the EIP-2 rule rejects it.
        const { signingHash, signature } = decodeTransaction(raw, OPTS);
        const twin = new secp256k1.Signature(hexToBigInt(signature.r), N - hexToBigInt(signature.s), 1 - signature.yParity);
        expect(twin.hasHighS()).to.equal(true);
        const twinKey = twin.recoverPublicKey(hexToBytes(signingHash)).toBytes(false);
        expect(publicKeyToAddress(twinKey)).to.equal(account.address);
        expectSignatureError(malleated, "high-s");
      }
    });

    it("r or s zero or not below the curve order", () => {
      const raw = signed[2].raw;
      expectSignatureError(withSignature(raw, (v, _r, s) => [v, "0x", s]), "r-out-of-range");
      expectSignatureError(withSignature(raw, (v, _r, s) => [v, numberToHex(N), s]), "r-out-of-range");
      expectSignatureError(withSignature(raw, (v, r) => [v, r, "0x"]), "s-out-of-range");
      expectSignatureError(withSignature(raw, (v, r) => [v, r, numberToHex(N)]), "s-out-of-range");
    });

    it("y-parity other than 0/1 and legacy v that is neither 27/28 nor EIP-155", () => {
      expectSignatureError(withSignature(signed[2].raw, (_v, r, s) => ["0x02", r, s]), "v-out-of-range");
      expectSignatureError(withSignature(signed[0].raw, (_v, r, s) => ["0x1e", r, s]), "v-out-of-range");
    });

    it("r that is no curve point's x coordinate: recovery fails on both backends", () => {
      let x = 1n;
      for (;; x++) {
        try {
          secp256k1.Point.fromHex(`02${x.toString(16).padStart(64, "0")}`);
        } catch {
          break;
        }
      }
      const raw = withSignature(signed[2].raw, (v, _r, s) => [v, numberToHex(x), s]);
      for (const backend of [loadNativeBackend(), nobleBackend]) expectSignatureError(raw, "recovery-failed", backend);
    });
  });

  describe("S13: refuses what no execution client runs (geth's static checks, Prague rules)", () => {
    /** Unsigned EIP-1559 fields [chainId, nonce, tip, fee, gas, to, value, data, accessList] with `edits`. */
    const eip1559 = (edits: Record<number, unknown>) => {
      const fields: unknown[] = fieldsOf(signed[2].raw).slice(0, -3);
      for (const [i, v] of Object.entries(edits)) fields[Number(i)] = v;
      return signFields("0x02", fields);
    };
    const hexOf = (n: bigint) => numberToHex(n);

    it("S13: a 9-byte gas field (>= 2^64) is refused, 2^64-1 is accepted", async () => {
      expectTransactionError(await eip1559({ 4: hexOf(1n << 64n) }), "field-too-large", /gas 18446744073709551616 exceeds 2\^64-1/);
      expect(decodeTransaction(await eip1559({ 4: hexOf((1n << 64n) - 1n) }), OPTS).gas).to.equal((1n << 64n) - 1n);
    });

    it("S13: value and fees beyond 2^256-1 are refused", async () => {
      expectTransactionError(await eip1559({ 6: hexOf(1n << 256n) }), "field-too-large", /value .* exceeds 2\^256-1/);
      expect(decodeTransaction(await eip1559({ 6: hexOf((1n << 256n) - 1n) }), OPTS).value).to.equal((1n << 256n) - 1n);
      expectTransactionError(await eip1559({ 3: hexOf(1n << 256n) }), "field-too-large", /max fee per gas .* exceeds 2\^256-1/);
      expectTransactionError(await eip1559({ 2: hexOf(1n << 256n), 3: hexOf(1n << 256n) }), "field-too-large", /fee per gas .* exceeds 2\^256-1/);
      const legacy = fieldsOf(signed[0].raw);
      legacy[1] = hexOf(1n << 256n);
      // Refused before the (now wrong) signature is looked at.
      expectTransactionError(encode(signed[0].raw, legacy), "field-too-large", /gas price .* exceeds 2\^256-1/);
    });

    it("S13: a nonce beyond 64 bits, or beyond 2^53-1, is refused", async () => {
      expectTransactionError(await eip1559({ 1: hexOf(1n << 64n) }), "field-too-large", /nonce .* exceeds 2\^64-1/);
      expectTransactionError(await eip1559({ 1: hexOf(1n << 53n) }), "field-too-large", /nonce 9007199254740992 exceeds 2\^53-1/);
      expect(decodeTransaction(await eip1559({ 1: hexOf((1n << 53n) - 1n) }), OPTS).nonce).to.equal(Number.MAX_SAFE_INTEGER);
    });

    it("S13: a priority fee above the fee cap is refused", async () => {
      expectTransactionError(await eip1559({ 2: hexOf(6n), 3: hexOf(5n) }), "tip-above-fee-cap", /max priority fee per gas 6 is above max fee per gas 5/);
      expect(decodeTransaction(await eip1559({ 2: hexOf(5n), 3: hexOf(5n) }), OPTS).maxPriorityFeePerGas).to.equal(5n);
    });

    it("S13: gas below the intrinsic gas is refused: base, calldata, creation, access list, authorizations", async () => {
      const base = { type: "eip1559", chainId: CHAIN_ID, nonce: 0, maxFeePerGas: 5n, maxPriorityFeePerGas: 1n } as const;
      /** Refused one below `intrinsic`, accepted at `least` (the EIP-7623 floor when it is higher). */
      const tooLow = async (tx: Record<string, unknown>, intrinsic: bigint, least = intrinsic) => {
        expectTransactionError(await account.signTransaction({ ...base, ...tx, gas: intrinsic - 1n } as never), "intrinsic-gas-too-low", new RegExp(`below the transaction's intrinsic gas ${intrinsic}$`));
        expect(decodeTransaction(await account.signTransaction({ ...base, ...tx, gas: least } as never), OPTS).gas).to.equal(least);
      };
      await tooLow({ to: TO }, 21_000n);
      // 0xa9059cbb: four non-zero bytes (16 each); 0x0000: two zero bytes (4 each). The floor is
      // higher: 18 tokens x 10.
      await tooLow({ to: TO, data: "0xa9059cbb0000" }, 21_000n + 4n * 16n + 2n * 4n, 21_000n + 18n * 10n);
      // Creation: 53,000, calldata, and 2 per 32-byte word of initcode (33 bytes: 2 words).
      await tooLow({ data: `0x${"60".repeat(33)}` }, 53_000n + 33n * 16n + 2n * 2n);
      await tooLow({ to: TO, accessList: [{ address: TO, storageKeys: [keccak256("0x01"), keccak256("0x02")] }] }, 21_000n + 2_400n + 2n * 1_900n);
      const authorization = await account.signAuthorization({ address: TO, chainId: CHAIN_ID, nonce: 1 });
      await tooLow({ type: "eip7702", to: TO, authorizationList: [authorization] }, 21_000n + 25_000n);
      // Every envelope type is checked.
      expectTransactionError(await account.signTransaction({ type: "legacy", chainId: CHAIN_ID, to: TO, nonce: 0, gas: 20_999n, gasPrice: 1n }), "intrinsic-gas-too-low", /intrinsic gas 21000$/);
      expectTransactionError(await account.signTransaction({ type: "eip2930", chainId: CHAIN_ID, to: TO, nonce: 0, gas: 20_999n, gasPrice: 1n }), "intrinsic-gas-too-low", /intrinsic gas 21000$/);
    });

    it("S13: gas below the EIP-7623 calldata floor is refused", async () => {
      // 1,000 non-zero bytes: intrinsic 37,000, floor 21,000 + 4,000 tokens x 10 = 61,000.
      const tx = { type: "eip1559", chainId: CHAIN_ID, nonce: 0, to: TO, data: `0x${"ff".repeat(1_000)}`, maxFeePerGas: 5n, maxPriorityFeePerGas: 1n } as const;
      expectTransactionError(await account.signTransaction({ ...tx, gas: 60_999n }), "floor-data-gas-too-low", /below the EIP-7623 calldata floor 61000$/);
      expect(decodeTransaction(await account.signTransaction({ ...tx, gas: 61_000n }), OPTS).gas).to.equal(61_000n);
    });

    it("S13: initcode over 49,152 bytes is refused (EIP-3860)", async () => {
      const tx = { type: "eip1559", chainId: CHAIN_ID, nonce: 0, maxFeePerGas: 5n, maxPriorityFeePerGas: 1n, gas: 10_000_000n } as const;
      expectTransactionError(await account.signTransaction({ ...tx, data: `0x${"60".repeat(49_153)}` }), "initcode-too-large", /49153 bytes of initcode, the limit is 49152/);
      expect(decodeTransaction(await account.signTransaction({ ...tx, data: `0x${"60".repeat(49_152)}` }), OPTS).to).to.equal(null);
    });
  });

  it("decodeTransactions keeps input order and isolates failures", () => {
    const results = decodeTransactions([signed[0].raw, "0xzz", signed[3].raw, "0x03c0"], OPTS);
    expect(results.map((r) => (r.ok ? r.tx.type : r.error.code))).to.deep.equal([
      "legacy",
      "MALFORMED_TRANSACTION",
      "eip7702",
      "UNSUPPORTED_TRANSACTION_TYPE",
    ]);
  });
});
