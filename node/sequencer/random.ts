/** A generator for the core's election jitter: seeded from the OS, not from Math.random. */
import { randomBytes } from "node:crypto";

export function osRandom(): () => number {
  let pool = randomBytes(4096);
  let offset = 0;
  return () => {
    if (offset + 4 > pool.length) {
      pool = randomBytes(4096);
      offset = 0;
    }
    const v = pool.readUInt32LE(offset);
    offset += 4;
    return v / 0x1_0000_0000;
  };
}
