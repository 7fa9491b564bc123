import { BaseError } from "../errors/index.js";

/** A `seq` command failed in a way the user can fix. */
export class CliError extends BaseError {
  override readonly name: string = "CliError";
}

/** A command-line option is missing or invalid: the command prints it with its usage and exits 2. */
export class UsageError extends CliError {
  override readonly name = "UsageError";
}
