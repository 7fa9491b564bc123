/** Command-line plumbing shared by the scripts: usage errors, number options, --help. */

import { UsageError } from "../../node/cli/usage.js";

export { UsageError };

/** `value` as a number, undefined when the option is absent. @throws UsageError unless finite and `ok`. */
export function numberOption(value: string | undefined, flag: string, ok: (n: number) => boolean = () => true): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || !ok(n)) throw new UsageError(`${flag}: invalid value ${JSON.stringify(value)}`);
  return n;
}

/**
 * The options `parse` reads from the command line. It returns undefined for --help: the usage
 * is printed and the process exits 0. Any error it throws is printed with the usage, exit 2.
 */
export function optionsOrExit<T>(parse: () => T | undefined, usage: string): T {
  let options: T | undefined;
  try {
    options = parse();
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (options === undefined) {
    console.log(usage);
    process.exit(0);
  }
  return options;
}
