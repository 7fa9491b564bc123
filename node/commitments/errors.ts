import { BaseError } from "../errors/index.js";

/** A commitment, certificate, Merkle proof or typed-data operation failed. */
export class CommitmentError extends BaseError {
  override readonly name: string = "CommitmentError";
}
