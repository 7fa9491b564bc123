import { BaseError } from "../errors/index.js";

/** An L1 read, write or record the node depends on failed or is unusable. */
export class L1Error extends BaseError {
  override readonly name: string = "L1Error";
}
