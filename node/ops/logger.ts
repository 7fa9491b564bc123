/**
 * Structured JSON logging (pino).
 *
 * One root logger per node; every component takes a child (`componentLogger`) so each
 * line carries `component` and whatever bindings the parent had (node id, ...).
 * Fields that may hold key material are censored before anything is written.
 */
import { pino, type DestinationStream, type Level, type Logger } from "pino";
import { BaseError } from "../errors/index.js";

export type { Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = Level | "silent";

/**
 * Paths censored in every log line. pino's redaction matches exact paths, so the
 * wildcards cover key material nested one and two objects deep (`{ config: { signer: { privateKey } } }`).
 */
export const REDACTED_PATHS: readonly string[] = ["privateKey", "secret", "mnemonic", "password"].flatMap(
  (field) => [field, `*.${field}`, `*.*.${field}`],
);

export class InvalidLogLevelError extends BaseError {
  override readonly name = "InvalidLogLevelError";
  constructor(readonly level: string, readonly source: string) {
    super(`invalid log level ${JSON.stringify(level)} from ${source}: expected one of ${LOG_LEVELS.join(", ")}`);
  }
}

export interface LoggerConfig {
  /** Explicit level (e.g. from a CLI flag or config file). Wins over `LOG_LEVEL`. */
  readonly level?: string;
  /** Bindings on every line, e.g. `{ node: "seq-1" }`. */
  readonly bindings?: Readonly<Record<string, unknown>>;
  /** Where lines go; stdout when omitted. Tests pass a stream to read lines back. */
  readonly destination?: DestinationStream;
  /** Environment to read `LOG_LEVEL` from; `process.env` when omitted. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The level to log at: explicit config, else `LOG_LEVEL`, else `info`. Throws on unknown names. */
export function resolveLogLevel(level: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): LogLevel {
  const [value, source] =
    level !== undefined ? [level, "config"] : env.LOG_LEVEL !== undefined && env.LOG_LEVEL !== "" ? [env.LOG_LEVEL, "LOG_LEVEL"] : ["info", "default"];
  const normalized = value.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(normalized)) throw new InvalidLogLevelError(value, source);
  return normalized as LogLevel;
}

export function createLogger(config: LoggerConfig = {}): Logger {
  const options = {
    level: resolveLogLevel(config.level, config.env),
    base: { ...config.bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Level names rather than numbers: log pipelines and humans both read them without a table.
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: [...REDACTED_PATHS], censor: "[redacted]" },
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}

/** A child logger for one component (`consensus`, `rpc`, `l1`, ...), inheriting level and redaction. */
export function componentLogger(parent: Logger, component: string, bindings: Readonly<Record<string, unknown>> = {}): Logger {
  return parent.child({ component, ...bindings });
}
