/** A command-line option is missing or invalid: the command prints it with its usage and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
