import { CodecError } from "../codec/errors.js";
import { MalformedThresholdDataError } from "./errors.js";

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs a decoder, turning the codec's errors into this layer's MalformedThresholdDataError. */
export function decoding<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (cause) {
    if (cause instanceof MalformedThresholdDataError) throw cause;
    if (cause instanceof CodecError) throw new MalformedThresholdDataError(`malformed ${what}: ${cause.message}`, { cause });
    throw cause;
  }
}
