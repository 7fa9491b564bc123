import { BaseError } from "../errors/index.js";

/** A key file or keystore could not be used. */
export class KeyError extends BaseError {
  override readonly name: string = "KeyError";
}
