import { BaseError } from "../errors/index.js";

/** The watchtower could not check or report something. */
export class WatchtowerError extends BaseError {
  override readonly name: string = "WatchtowerError";
}
