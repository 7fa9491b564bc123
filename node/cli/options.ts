/**
 * Reading and checking command-line options before a command loads anything heavy: each check
 * names the option, the value and the rule in one sentence (a UsageError, exit code 2). Light on
 * purpose (node built-ins only): `seq --help` and a mistyped option answer at once.
 */
import { existsSync, statSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./usage.js";

export type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/** The values parseArgs gives for `O`: strings, booleans, and lists for `multiple` options. */
export type OptionValues<O extends OptionsConfig> = {
  [K in keyof O]?: O[K] extends { multiple: true } ? (O[K] extends { type: "boolean" } ? boolean[] : string[]) : O[K] extends { type: "boolean" } ? boolean : string;
};

/**
 * `args` parsed against `options` for `command`; an unknown option, a missing value or a stray
 * argument is a UsageError naming it.
 */
export function parseOptions<O extends OptionsConfig>(command: string, args: readonly string[], options: O): OptionValues<O> {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values as OptionValues<O>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = (error as Error).message;
    const known = Object.keys(options).map((o) => `--${o}`).join(", ");
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const option = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`${command}: unknown option ${option} (its options: ${known})`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const option = /'(--?[\w-]+)/.exec(message)?.[1] ?? message;
      throw new UsageError(`${command}: option ${option} needs a value`);
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      const value = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`${command}: unexpected argument "${value}": every value follows its option (its options: ${known})`);
    }
    throw new UsageError(`${command}: ${message}`);
  }
}

/** `value`, which `option` must have. */
export function required<T>(command: string, option: string, value: T | undefined, what: string): T {
  if (value === undefined || (Array.isArray(value) && value.length === 0) || value === "") throw new UsageError(`${command}: ${option} ${what} is required`);
  return value;
}

/** An http(s) or ws(s) URL. */
export function urlOption(command: string, option: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${command}: ${option} ${JSON.stringify(value)} is not a URL: give the node's JSON-RPC address, e.g. http://127.0.0.1:8545`);
  }
  if (!["http:", "https:", "ws:", "wss:"].includes(url.protocol)) {
    throw new UsageError(`${command}: ${option} ${JSON.stringify(value)} must be an http://, https://, ws:// or wss:// URL`);
  }
  return value;
}

/** An existing regular file ("-" for standard input where `stdin` allows it). */
export function fileOption(command: string, option: string, value: string, options: { stdin?: boolean } = {}): string {
  if (options.stdin === true && value === "-") return value;
  if (!existsSync(value)) throw new UsageError(`${command}: ${option} ${value}: no such file`);
  if (!statSync(value).isFile()) throw new UsageError(`${command}: ${option} ${value} is not a file`);
  return value;
}

/** An existing directory holding `files`. */
export function dirWithFiles(command: string, option: string, value: string, files: readonly string[]): string {
  if (!existsSync(value) || !statSync(value).isDirectory()) throw new UsageError(`${command}: ${option} ${value}: no such directory (seq keys --out DIR makes one)`);
  const missing = files.filter((f) => !existsSync(`${value}/${f}`));
  if (missing.length > 0) throw new UsageError(`${command}: ${option} ${value} has no ${missing.join(" and no ")} (seq keys --out DIR writes both)`);
  return value;
}

/** A 32-byte private key as 0x-hex. */
export function privateKeyOption(command: string, option: string, value: string): `0x${string}` {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) throw new UsageError(`${command}: ${option} must be a private key of 32 bytes as 0x-hex (66 characters), got ${value.length} characters`);
  return value as `0x${string}`;
}

/** Non-empty bytes as 0x-hex, at most `maxBytes` of them. */
export function hexBytesOption(command: string, option: string, value: string, maxBytes: number): `0x${string}` {
  if (!/^0x([0-9a-fA-F]{2})+$/.test(value)) throw new UsageError(`${command}: ${option} must be non-empty 0x-hex bytes (an even number of hex digits after 0x)`);
  const bytes = (value.length - 2) / 2;
  if (bytes > maxBytes) throw new UsageError(`${command}: ${option} holds ${bytes} bytes, more than the ${maxBytes} the forced-inclusion queue takes`);
  return value as `0x${string}`;
}

/** A 20-byte address as 0x-hex. */
export function addressOption(command: string, option: string, value: string): `0x${string}` {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value)) throw new UsageError(`${command}: ${option} ${JSON.stringify(value)} must be an address: 0x and 40 hex digits`);
  return value as `0x${string}`;
}

/** A positive safe integer. */
export function positiveIntegerOption(command: string, option: string, value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${command}: ${option} ${JSON.stringify(value)} must be a positive integer`);
  return n;
}

/** A positive decimal number of tokens (`1000`, `1000.5`): converted with the token's decimals later. */
export function tokenAmountOption(command: string, option: string, value: string): string {
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || /^0+(\.0+)?$/.test(value)) {
    throw new UsageError(`${command}: ${option} ${JSON.stringify(value)} must be a positive number of tokens, e.g. 1000 or 1000.5`);
  }
  return value;
}

/** A TCP multiaddr other nodes can dial (`/ip4/203.0.113.7/tcp/4001`, `/dns4/seq.example/tcp/4001`). */
export function dialAddressOption(command: string, option: string, value: string): string {
  if (!/^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/[0-9]{1,5}(\/.*)?$/.test(value) || Number(value.split("/")[4]) > 65535) {
    throw new UsageError(`${command}: ${option} ${JSON.stringify(value)} must be a TCP multiaddr other nodes can dial, e.g. /ip4/203.0.113.7/tcp/4001`);
  }
  return value;
}
