/** Command-line plumbing shared by the scripts: usage errors, number options, --help. */

import { UsageError } from "../../node/cli/usage.js";

export { UsageError };

/**
 * `value` as a number, undefined when the option is absent.
 * @throws UsageError `${flag} "value" must be ${rule}` unless finite and `ok`
 */
export function numberOption(value: string | undefined, flag: string, ok: (n: number) => boolean = () => true, rule = "a number"): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || !ok(n)) throw new UsageError(`${flag} ${JSON.stringify(value)} must be ${rule}`);
  return n;
}

/**
 * The options `parse` reads from the command line. It returns undefined for --help: the usage
 * is printed and the process exits 0. Any error it throws is printed as its one sentence with a
 * pointer to --help (the whole error too with LOG_LEVEL=debug), exit 2.
 */
export function optionsOrExit<T>(parse: () => T | undefined, usage: string): T {
  let options: T | undefined;
  try {
    options = parse();
  } catch (e) {
    failWithUsage(e, usage);
  }
  if (options === undefined) {
    console.log(usage);
    process.exit(0);
  }
  return options;
}

/** Prints a bad option's one sentence (and, with LOG_LEVEL=debug, the error) and exits 2. */
export function failWithUsage(error: unknown, usage: string): never {
  const command = /^usage: (.+?) (?:--|\[)/.exec(usage)?.[1] ?? "this command";
  console.error(`${(error as Error).message} (${command} -- --help lists the options)`);
  if (process.env.LOG_LEVEL === "debug") console.error(error);
  process.exit(2);
}
