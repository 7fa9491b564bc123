import { CodecError } from "./errors.js";

const TWO_32 = 2 ** 32;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function checkUint(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CodecError(`${what} must be a non-negative safe integer, got ${String(value)}`);
  }
}

/** Growable output buffer with LEB128 varints; `finish()` returns a view of exactly the bytes written. */
export class Writer {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
  }

  get length(): number {
    return this.pos;
  }

  /** Make room for `n` more bytes up front (avoids repeated doubling for large payloads). */
  reserve(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(value: number): void {
    this.reserve(1);
    this.buf[this.pos++] = value;
  }

  bool(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  /** Unsigned LEB128 of a safe integer (at most 8 bytes). */
  varint(value: number, what = "varint"): void {
    checkUint(value, what);
    this.reserve(8);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Zigzag varint for small signed integers (error codes). */
  svarint(value: number, what = "svarint"): void {
    if (!Number.isSafeInteger(value) || Math.abs(value) > 2 ** 51) {
      throw new CodecError(`${what} must be an integer within ±2^51, got ${String(value)}`);
    }
    this.varint(value >= 0 ? value * 2 : -value * 2 - 1, what);
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  bytes(bytes: Uint8Array, max: number, what: string): void {
    if (bytes.length > max) throw new CodecError(`${what} is ${bytes.length} bytes, limit ${max}`);
    this.varint(bytes.length, what);
    this.raw(bytes);
  }

  string(value: string, max: number, what: string): void {
    this.bytes(textEncoder.encode(value), max, what);
  }

  /** Big-endian u64 of a safe integer (sortable keys). */
  u64be(value: number, what = "u64"): void {
    checkUint(value, what);
    this.reserve(8);
    writeU64BE(this.buf, this.pos, value);
    this.pos += 8;
  }

  /** Writes `0x`-hex of exactly `length` bytes in place (see `hexToBytes` for the accepted form). */
  hex(hex: string, length: number, what: string): void {
    this.reserve(length);
    hexInto(this.buf, this.pos, hex, length, what);
    this.pos += length;
  }

  u32be(value: number): void {
    this.reserve(4);
    const b = this.buf;
    b[this.pos++] = value >>> 24;
    b[this.pos++] = (value >>> 16) & 0xff;
    b[this.pos++] = (value >>> 8) & 0xff;
    b[this.pos++] = value & 0xff;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

export function writeU64BE(buf: Uint8Array, offset: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  const lo = value >>> 0;
  buf[offset] = hi >>> 24;
  buf[offset + 1] = (hi >>> 16) & 0xff;
  buf[offset + 2] = (hi >>> 8) & 0xff;
  buf[offset + 3] = hi & 0xff;
  buf[offset + 4] = lo >>> 24;
  buf[offset + 5] = (lo >>> 16) & 0xff;
  buf[offset + 6] = (lo >>> 8) & 0xff;
  buf[offset + 7] = lo & 0xff;
}

export function readU64BE(buf: Uint8Array, offset: number): number {
  const hi = ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
  const lo = ((buf[offset + 4]! << 24) | (buf[offset + 5]! << 16) | (buf[offset + 6]! << 8) | buf[offset + 7]!) >>> 0;
  return hi * TWO_32 + lo;
}

/**
 * Bounds-checked cursor over untrusted bytes. Every length or count is checked against the
 * bytes actually remaining before anything is allocated, so a hostile length prefix can never
 * make the decoder allocate more than the input size.
 */
export class Reader {
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private fail(message: string): never {
    throw new CodecError(`${this.what}: ${message} (at byte ${this.pos} of ${this.buf.length})`);
  }

  u8(what = "byte"): number {
    if (this.pos >= this.buf.length) this.fail(`truncated reading ${what}`);
    return this.buf[this.pos++]!;
  }

  bool(what = "bool"): boolean {
    const b = this.u8(what);
    if (b > 1) this.fail(`${what} must be 0 or 1, got ${b}`);
    return b === 1;
  }

  /** Canonical unsigned LEB128 (no overlong forms), at most 2^53 - 1. */
  varint(what = "varint"): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8(what);
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) this.fail(`${what} has an overlong encoding`);
        if (value > Number.MAX_SAFE_INTEGER) this.fail(`${what} exceeds 2^53 - 1`);
        return value;
      }
      scale *= 0x80;
    }
    return this.fail(`${what} is longer than 8 bytes`);
  }

  svarint(what = "svarint"): number {
    const z = this.varint(what);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  /** A view into the input (zero-copy). */
  raw(n: number, what: string): Uint8Array {
    if (n > this.remaining) this.fail(`truncated reading ${what}: need ${n} bytes, ${this.remaining} left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  bytes(max: number, what: string): Uint8Array {
    const n = this.varint(`${what} length`);
    if (n > max) this.fail(`${what} length ${n} exceeds limit ${max}`);
    return this.raw(n, what);
  }

  string(max: number, what: string): string {
    const b = this.bytes(max, what);
    try {
      return textDecoder.decode(b);
    } catch (cause) {
      throw new CodecError(`${this.what}: ${what} is not valid UTF-8`, { cause });
    }
  }

  /** An item count, rejected if even minimal items could not fit in the remaining input. */
  count(max: number, minItemBytes: number, what: string): number {
    const n = this.varint(`${what} count`);
    if (n > max) this.fail(`${what} count ${n} exceeds limit ${max}`);
    if (n * minItemBytes > this.remaining) this.fail(`${what} count ${n} cannot fit in ${this.remaining} remaining bytes`);
    return n;
  }

  u64be(what: string): number {
    const b = this.raw(8, what);
    const v = readU64BE(b, 0);
    if (v > Number.MAX_SAFE_INTEGER) this.fail(`${what} exceeds 2^53 - 1`);
    return v;
  }

  end(): void {
    if (this.pos !== this.buf.length) this.fail(`${this.buf.length - this.pos} trailing bytes`);
  }
}

const HEX_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUES[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUES[97 + i] = 10 + i;

export function bytesToHex(bytes: Uint8Array): `0x${string}` {
  // Native hex: one flat string instead of a chain of 2-char concatenations (7x faster when kept).
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")}`;
}

/** Strict parser: `0x` + exactly `2 * length` lowercase hex digits. */
export function hexToBytes(hex: string, length: number, what: string): Uint8Array {
  const out = new Uint8Array(length);
  hexInto(out, 0, hex, length, what);
  return out;
}

function hexInto(out: Uint8Array, offset: number, hex: string, length: number, what: string): void {
  if (hex.length !== 2 + 2 * length || hex.charCodeAt(0) !== 48 || hex.charCodeAt(1) !== 120) {
    throw new CodecError(`${what} must be 0x-prefixed lowercase hex of ${length} bytes, got ${JSON.stringify(hex.slice(0, 80))}`);
  }
  for (let i = 0; i < length; i++) {
    const c1 = hex.charCodeAt(2 + 2 * i);
    const c2 = hex.charCodeAt(3 + 2 * i);
    const h = c1 < 128 ? HEX_VALUES[c1]! : -1;
    const l = c2 < 128 ? HEX_VALUES[c2]! : -1;
    if (h < 0 || l < 0) {
      throw new CodecError(`${what} must be 0x-prefixed lowercase hex of ${length} bytes, got ${JSON.stringify(hex.slice(0, 80))}`);
    }
    out[offset + i] = (h << 4) | l;
  }
}
