import { BaseError } from "../errors/index.js";

/** Input that is not a valid encoding (truncated, malformed, oversized, trailing bytes) or a value that cannot be encoded. */
export class CodecError extends BaseError {
  override readonly name = "CodecError";
}
