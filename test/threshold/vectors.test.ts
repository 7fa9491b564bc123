/**
 * Cross-checks against published vectors:
 * - RFC 9380 Appendix J.10.1 (BLS12381G2_XMD:SHA-256_SSWU_RO_): the identity hash H1 is noble's hash_to_curve;
 * - the Ethereum consensus BLS signature vectors (sign: sk·H(msg) with the _POP_ tag): a slot key is a BLS signature;
 * - drand/tlock-js's pairing and GT-serialization vector, and a timelock ciphertext made by drand's Go
 *   implementation for round 1 of drand's "testnet-unchained-3s" chain: FullIdent here must decrypt it
 *   with that round's published beacon signature (the identity key), pass the re-encryption check,
 *   and yield the age file key whose header MAC and payload check out.
 */
import { createDecipheriv, createHmac, hkdfSync } from "node:crypto";
import { expect } from "chai";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import {
  G1,
  G2,
  InvalidCiphertextError,
  InvalidSlotKeyError,
  g1FromBytes,
  g2FromBytes,
  gtToBytes,
  hashIdentity,
  ibeDecrypt,
  prepareSlotKey,
  sha256Of,
} from "../../node/threshold/index.js";

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/^0x/, ""), "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("threshold: published test vectors", () => {
  it("hashes identities to G2 as RFC 9380 J.10.1 says (BLS12381G2_XMD:SHA-256_SSWU_RO_)", () => {
    const dst = "QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_";
    const vectors = [
      {
        msg: "",
        x: ["0141ebfbdca40eb85b87142e130ab689c673cf60f1a3e98d69335266f30d9b8d4ac44c1038e9dcdd5393faf5c41fb78a", "05cb8437535e20ecffaef7752baddf98034139c38452458baeefab379ba13dff5bf5dd71b72418717047f5b0f37da03d"],
        y: ["0503921d7f6a12805e72940b963c0cf3471c7b2a524950ca195d11062ee75ec076daf2d4bc358c4b190c0c98064fdd92", "12424ac32561493f3fe3c260708a12b7c620e7be00099a974e259ddc7d1f6395c3c811cdd19f1e8dbf3e9ecfdcbab8d6"],
      },
      {
        msg: "abcdef0123456789",
        x: ["121982811d2491fde9ba7ed31ef9ca474f0e1501297f68c298e9f4c0028add35aea8bb83d53c08cfc007c1e005723cd0", "190d119345b94fbd15497bcba94ecf7db2cbfd1e1fe7da034d26cbba169fb3968288b3fafb265f9ebd380512a71c3f2c"],
        y: ["05571a0f8d3c08d094576981f4a3b8eda0a8e771fcdcc8ecceaf1356a6acf17574518acb506e435b639353c2e14827c8", "0bb5e7572275c567462d91807de765611490205a941a5a6af3b1691bfe596c31225d3aabdf15faff860cb4ef17c7c3be"],
      },
    ];
    for (const v of vectors) {
      const p = hashIdentity(ascii(v.msg), dst).toAffine();
      expect([p.x.c0, p.x.c1].map((c) => c.toString(16).padStart(96, "0"))).to.deep.equal(v.x);
      expect([p.y.c0, p.y.c1].map((c) => c.toString(16).padStart(96, "0"))).to.deep.equal(v.y);
    }
  });

  it("makes a slot key as a BLS signature: the Ethereum consensus sign vectors (sk·H(msg), _POP_ tag)", () => {
    const dst = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
    const vectors = [
      ["328388aff0d4a5b7dc9205abd374e7e98f3cd9f3418edb4eafda5fb16473d216", "abababababababababababababababababababababababababababababababab", "ae82747ddeefe4fd64cf9cedb9b04ae3e8a43420cd255e3c7cd06a8d88b7c7f8638543719981c5d16fa3527c468c25f0026704a6951bde891360c7e8d12ddee0559004ccdbe6046b55bae1b257ee97f7cdb955773d7cf29adf3ccbb9975e4eb9"],
      ["47b8192d77bf871b62e87859d653922725724a5c031afeabc60bcef5ff665138", "5656565656565656565656565656565656565656565656565656565656565656", "af1390c3c47acdb37131a51216da683c509fce0e954328a59f93aebda7e4ff974ba208d9a4a2a2389f892a9d418d618418dd7f7a6bc7aa0da999a9d3a5b815bc085e14fd001f6a1948768a3f4afefc8b8240dda329f984cb345c6363272ba4fe"],
      ["263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3", "0000000000000000000000000000000000000000000000000000000000000000", "b6ed936746e01f8ecf281f020953fbf1f01debd5657c4a383940b020b26507f6076334f91e2366c96e9ab279fb5158090352ea1c5b0c9274504f4f0e7053af24802e51e4568d164fe986834f41e55c8e850ce1f98458c0cfc9ab380b55285a55"],
    ] as const;
    for (const [sk, msg, sig] of vectors) {
      const s = BigInt(`0x${sk}`);
      expect(toHex(hashIdentity(hex(msg), dst).multiply(s).toBytes(true))).to.equal(sig);
      // and the slot-key check accepts it under pk = sk·G1, and refuses it for another identity
      const pk = G1.BASE.multiply(s);
      prepareSlotKey(pk, hex(msg), g2FromBytes(hex(sig), "signature"), dst);
      expect(() => prepareSlotKey(pk, ascii("another"), g2FromBytes(hex(sig), "signature"), dst)).to.throw(InvalidSlotKeyError);
    }
  });

  it("serializes e(G1, G2) and hashes it (H2) as drand's kyber and tlock do", () => {
    const gt = bls12_381.pairing(G1.BASE, G2.BASE);
    expect(toHex(gtToBytes(gt)).slice(0, 96)).to.equal("0f41e58663bf08cf068672cbd01a7ec73baca4d72ca93544deff686bfd6df543d48eaa24afe47e1efde449383b676631");
    expect(toHex(gtToBytes(gt)).slice(-96)).to.equal("1250ebd871fc0a92a7b2d83168d0d727272d441befa15c503dd8e90ce98db3e7b6d194f60839c508a84305aaca1789b6");
    expect(toHex(sha256Of(ascii("IBE-H2"), gtToBytes(gt)).subarray(0, 16))).to.equal("cb87319f24560b5231579a09ad79f12e");
  });

  describe("a drand timelock ciphertext (Go implementation, testnet-unchained-3s, round 1)", () => {
    const publicKey = "8200fc249deb0148eb918d6e213980c5d01acd7fc251900d9260136da3b54836ce125172399ddc69c4e3e11429b62c11";
    const signature =
      "86ecea71376e78abd19aaf0ad52f462a6483626563b1023bd04815a7b953da888c74f5bf6ee672a5688603ab310026230522898f33f23a7de363c66f90ffd49ec77ebf7f6c1478a9ecd6e714b4d532ab43d044da0a16fed13b4791d7fc999e2b";
    const armored = [
      "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IHRsb2NrIDEgNzY3Mjc5N2Y1NDhmM2Y0",
      "NzQ4YWM0YmYzMzUyZmM2YzZiNjQ2OGM5YWQ0MGFkNDU2YTM5NzU0NWM2ZTJkZjVi",
      "ZgpzditiV09ZTGh1M3ZpeWtySGdVL0U0QWd1R2c0SGFvaDJjaUJhWTlsZEgzRVZO",
      "eER3N0hUakxxejdoSHpqdjYxClVLaHh3VlZVNnJ5VmtpQ0JuZmVhRkVOanI0OFk3",
      "bHFRSG9NSTJQTGg5RnMKLS0tIG9OdGUrMnRtVE40NHNLVjFZVnQ3dXJ6SWh5ZWtL",
      "aU8wTE5SVUN1QmFxdnMKSV7e0ctoMEAfh1gqfl3qEFpZxEyO/vc7Se9iNR9BfpPo",
      "HypjufJAgOSFJtWGfxQ=",
    ].join("");
    const file = Buffer.from(armored, "base64");
    const text = file.toString("latin1");
    const macLine = text.indexOf("\n--- ");
    const stanza = text.slice(0, macLine).split("\n");
    const body = new Uint8Array(Buffer.from(stanza.slice(2).join(""), "base64"));
    const payloadAt = text.indexOf("\n", macLine + 1) + 1;
    // drand's unchained scheme: the identity of round n is sha256(n as a big-endian u64), hashed with the _NUL_ tag
    const dst = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_";
    const identity = sha256Of(hex("0000000000000001"));
    const header = { u: g1FromBytes(body.subarray(0, 48), "U"), v: body.subarray(48, 64), w: body.subarray(64, 80) };

    it("parses as one tlock stanza for round 1 of the chain", () => {
      expect(stanza[0]).to.equal("age-encryption.org/v1");
      expect(stanza[1]).to.equal("-> tlock 1 7672797f548f3f4748ac4bf3352fc6c6b6468c9ad40ad456a397545c6e2df5bf");
      expect(body.length).to.equal(80);
    });

    it("decrypts with the round's beacon signature, and the file key opens the header MAC and the payload", () => {
      const slotKey = prepareSlotKey(g1FromBytes(hex(publicKey), "drand public key"), identity, g2FromBytes(hex(signature), "beacon signature"), dst);
      const fileKey = ibeDecrypt(slotKey, header);
      expect(fileKey.length).to.equal(16);

      const macKey = Buffer.from(hkdfSync("sha256", fileKey, new Uint8Array(0), "header", 32));
      const mac = createHmac("sha256", macKey).update(file.subarray(0, macLine + 4)).digest();
      expect(mac.toString("base64").replace(/=+$/, "")).to.equal(text.slice(macLine + 5, payloadAt - 1));

      const nonce = file.subarray(payloadAt, payloadAt + 16);
      const streamKey = Buffer.from(hkdfSync("sha256", fileKey, nonce, "payload", 32));
      const chunk = file.subarray(payloadAt + 16);
      const decipher = createDecipheriv("chacha20-poly1305", streamKey, Buffer.from("000000000000000000000001", "hex"), { authTagLength: 16 });
      decipher.setAuthTag(chunk.subarray(chunk.length - 16));
      const plaintext = Buffer.concat([decipher.update(chunk.subarray(0, chunk.length - 16)), decipher.final()]);
      expect(plaintext.toString("utf8")).to.equal("Hello dranders\n");
    });

    it("refuses the ciphertext with one bit of V or W flipped (the Fujisaki–Okamoto check)", () => {
      const slotKey = prepareSlotKey(g1FromBytes(hex(publicKey), "drand public key"), identity, g2FromBytes(hex(signature), "beacon signature"), dst);
      for (const field of ["v", "w"] as const) {
        const tampered = header[field].slice();
        tampered[3]! ^= 0x10;
        expect(() => ibeDecrypt(slotKey, { ...header, [field]: tampered })).to.throw(InvalidCiphertextError);
      }
    });
  });
});
