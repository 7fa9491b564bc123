/**
 * Key files (node/keys): Web3 Secret Storage v3 keystores written and read back, the official
 * test vectors, passphrase sources and their errors, plain-hex keys with their warning.
 */
import { expect } from "chai";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  InvalidKeystoreError,
  KeyFileError,
  LIGHT_SCRYPT,
  MissingPassphraseError,
  PASSPHRASE_ENV,
  WrongPassphraseError,
  decryptKeystore,
  loadSigner,
  writeKeystoreFile,
  type Keystore,
} from "../../node/keys/index.js";
import { makeTempDir, removeTempDir } from "../../scripts/lib/processes.js";

/**
 * The two test vectors of the Web3 Secret Storage Definition (also geth's
 * accounts/keystore/testdata): one private key under the password "testpassword".
 */
const VECTOR_KEY = "0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";
const VECTOR_ADDRESS = "0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b";
const SCRYPT_VECTOR = {
  crypto: {
    cipher: "aes-128-ctr",
    cipherparams: { iv: "83dbcc02d8ccb40e466191a123791e0e" },
    ciphertext: "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
    kdf: "scrypt",
    kdfparams: { dklen: 32, n: 262144, p: 8, r: 1, salt: "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19" },
    mac: "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097",
  },
  id: "3198bc9c-6672-5ab3-d995-4942343ae5b6",
  version: 3,
};
const PBKDF2_VECTOR = {
  crypto: {
    cipher: "aes-128-ctr",
    cipherparams: { iv: "6087dab2f9fdbbfaddc31a909735c1e6" },
    ciphertext: "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
    kdf: "pbkdf2",
    kdfparams: { c: 262144, dklen: 32, prf: "hmac-sha256", salt: "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd" },
    mac: "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2",
  },
  id: "3198bc9c-6672-5ab3-d995-4942343ae5b6",
  version: 3,
};

/** The error `promise` rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.fail("expected a rejection"),
    (error: Error) => error,
  );
}

describe("key files (node/keys)", function () {
  this.timeout(120_000);
  let dir: string;
  let n = 0;
  const file = (name: string) => path.join(dir, `${n++}-${name}`);
  const noEnv = { env: {} };

  before(() => {
    dir = makeTempDir("seq-keys-");
  });
  after(async () => {
    await removeTempDir(dir);
  });

  it("decrypts the official scrypt and PBKDF2 test vectors with the password from a password file", async () => {
    const password = file("password");
    await writeFile(password, "testpassword\n");
    expect(await decryptKeystore(PBKDF2_VECTOR as Keystore, "testpassword", "the PBKDF2 vector")).to.equal(VECTOR_KEY);
    for (const vector of [SCRYPT_VECTOR, PBKDF2_VECTOR]) {
      const keystore = file(`${vector.crypto.kdf}.json`);
      await writeFile(keystore, JSON.stringify(vector));
      const signer = await loadSigner(keystore, { passwordFile: password, ...noEnv });
      expect(signer.address).to.equal(VECTOR_ADDRESS);
    }
  });

  it("round-trips a key through a keystore file (mode 0600) that signs like the key itself", async () => {
    const key = generatePrivateKey();
    const keystore = file("signer.json");
    await writeKeystoreFile(keystore, key, "correct horse", LIGHT_SCRYPT);
    expect((await stat(keystore)).mode & 0o777).to.equal(0o600);
    const json = JSON.parse(await readFile(keystore, "utf8")) as Keystore;
    expect(json.version).to.equal(3);
    expect(json.crypto.cipher).to.equal("aes-128-ctr");
    expect(json.crypto.kdf).to.equal("scrypt");
    expect(json.crypto.kdfparams).to.include({ n: LIGHT_SCRYPT.n, r: LIGHT_SCRYPT.r, p: LIGHT_SCRYPT.p, dklen: 32 });
    expect(`0x${json.address}`).to.equal(privateKeyToAccount(key).address.toLowerCase());
    expect(await readFile(keystore, "utf8")).to.not.contain(key.slice(2));

    const signer = await loadSigner(keystore, { env: { [PASSPHRASE_ENV]: "correct horse" } });
    expect(signer.address).to.equal(privateKeyToAccount(key).address);
    expect(await signer.signMessage({ message: "batch" })).to.equal(await privateKeyToAccount(key).signMessage({ message: "batch" }));

    const before = await readFile(keystore, "utf8");
    const again = await rejection(writeKeystoreFile(keystore, generatePrivateKey(), "other", LIGHT_SCRYPT));
    expect((again as NodeJS.ErrnoException).code).to.equal("EEXIST");
    expect(await readFile(keystore, "utf8")).to.equal(before);
  });

  it("refuses a wrong passphrase, and a password file beats the environment", async () => {
    const keystore = file("signer.json");
    await writeKeystoreFile(keystore, generatePrivateKey(), "right", LIGHT_SCRYPT);
    const wrong = await rejection(loadSigner(keystore, { env: { [PASSPHRASE_ENV]: "wrong" } }));
    expect(wrong).to.be.instanceOf(WrongPassphraseError);
    expect(wrong.message).to.equal(`the passphrase does not open the keystore ${keystore} (MAC mismatch)`);

    // Only the first line of the file counts (a trailing newline is not part of the passphrase).
    const password = file("password");
    await writeFile(password, "right\r\nignored second line\n");
    await loadSigner(keystore, { passwordFile: password, env: { [PASSPHRASE_ENV]: "wrong" } });
  });

  it("asks for a passphrase that is missing, naming the keystore and where a passphrase comes from", async () => {
    const keystore = file("signer.json");
    await writeKeystoreFile(keystore, generatePrivateKey(), "secret", LIGHT_SCRYPT);
    const missing = await rejection(loadSigner(keystore, noEnv));
    expect(missing).to.be.instanceOf(MissingPassphraseError);
    expect(missing.message).to.contain(keystore).and.contain("--password-file").and.contain(PASSPHRASE_ENV);

    const empty = file("empty-password");
    await writeFile(empty, "\n");
    const blank = await rejection(loadSigner(keystore, { passwordFile: empty, env: { [PASSPHRASE_ENV]: "secret" } }));
    expect(blank).to.be.instanceOf(MissingPassphraseError);
    expect(blank.message).to.contain(`the password file ${empty} is empty`);

    const absent = await rejection(loadSigner(keystore, { passwordFile: path.join(dir, "no-such-file"), ...noEnv }));
    expect(absent).to.be.instanceOf(MissingPassphraseError);
    expect(absent.message).to.contain("cannot read the password file");
  });

  it("loads a plain 0x-hex key with a warning, once per file", async () => {
    const key = generatePrivateKey();
    const plain = file("signer.key");
    await writeFile(plain, `${key}\n`, { mode: 0o600 });
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    expect((await loadSigner(plain, { warn, ...noEnv })).address).to.equal(privateKeyToAccount(key).address);
    await loadSigner(plain, { warn, ...noEnv });
    expect(warnings).to.deep.equal([`the key in ${plain} is stored unencrypted; encrypt it as a keystore (seq keys writes one) for anything but a devnet`]);
    const other = file("batcher.key");
    await writeFile(other, generatePrivateKey());
    await loadSigner(other, { warn, ...noEnv });
    expect(warnings).to.have.length(2);
  });

  it("refuses files that hold no key, and keystores that were altered, with the file named", async () => {
    const cases: [string, string, new (...args: never[]) => Error, string][] = [
      ["garbage", "not a key\n", KeyFileError, "must hold a keystore (JSON) or a 32-byte 0x-hex private key"],
      ["short-hex", "0x1234\n", KeyFileError, "must hold a keystore (JSON) or a 32-byte 0x-hex private key"],
      ["broken-json", '{"version": 3,', KeyFileError, "is neither JSON (a keystore) nor a 0x-hex key"],
      ["other-json", '{"key": "0x00"}', KeyFileError, 'holds JSON that is not a keystore (no "version" and "crypto")'],
      ["v1", JSON.stringify({ ...PBKDF2_VECTOR, version: 1 }), InvalidKeystoreError, "is not a readable Web3 Secret Storage v3 keystore"],
      ["altered", JSON.stringify({ ...PBKDF2_VECTOR, crypto: { ...PBKDF2_VECTOR.crypto, ciphertext: `00${PBKDF2_VECTOR.crypto.ciphertext.slice(2)}` } }), WrongPassphraseError, "MAC mismatch"],
      ["other-address", JSON.stringify({ ...PBKDF2_VECTOR, address: "1111111111111111111111111111111111111111" }), InvalidKeystoreError, `but it decrypts to the key of ${VECTOR_ADDRESS}`],
    ];
    for (const [name, content, kind, message] of cases) {
      const bad = file(name);
      await writeFile(bad, content);
      const error = await rejection(loadSigner(bad, { env: { [PASSPHRASE_ENV]: "testpassword" } }));
      expect(error, name).to.be.instanceOf(kind);
      expect(error.message, name).to.contain(bad).and.contain(message);
    }
    const gone = await rejection(loadSigner(path.join(dir, "missing.key")));
    expect(gone).to.be.instanceOf(KeyFileError);
    expect(gone.message).to.contain("cannot read the key file");
    expect((gone.cause as NodeJS.ErrnoException).code).to.equal("ENOENT");
  });
});
