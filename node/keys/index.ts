export {
  KeyFileError,
  MissingPassphraseError,
  PASSPHRASE_ENV,
  loadSigner,
  readPassphrase,
  writeKeystoreFile,
  type LoadSignerOptions,
  type PassphraseSource,
  type Signer,
} from "./signer.js";
export {
  InvalidKeystoreError,
  LIGHT_SCRYPT,
  STANDARD_SCRYPT,
  WrongPassphraseError,
  decryptKeystore,
  encryptKeystore,
  type Keystore,
  type ScryptParams,
} from "./keystore.js";
