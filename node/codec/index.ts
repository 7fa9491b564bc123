export { CodecError } from "./errors.js";
export { Reader, Writer, bytesToHex, hexToBytes, readU64BE, writeU64BE } from "./bytes.js";
export * from "./raft.js";
export * from "./rpc.js";
