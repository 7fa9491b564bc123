/**
 * Length-prefixed frames on a byte stream: `varint(length) ‖ payload`. The decoder never buffers
 * more than one maximal frame plus its prefix, so a peer announcing a huge length is cut off
 * as soon as the prefix is read.
 */
import { Uint8ArrayList } from "uint8arraylist";
import { CodecError, Writer } from "../codec/index.js";

export function framePrefix(length: number): Uint8Array {
  const w = new Writer(5);
  w.varint(length, "frame length");
  return w.finish();
}

/** Appends one frame (prefix + payload, no copy) to `list`. */
export function appendFrame(list: Uint8ArrayList, payload: Uint8Array): void {
  list.append(framePrefix(payload.length));
  list.append(payload);
}

export class FrameDecoder {
  private readonly buffer = new Uint8ArrayList();

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds received bytes and returns the frames completed by them; throws CodecError on a bad prefix. */
  push(data: Uint8Array | Uint8ArrayList): Uint8Array[] {
    this.buffer.append(data);
    const frames: Uint8Array[] = [];
    for (;;) {
      const available = this.buffer.byteLength;
      let length = 0;
      let scale = 1;
      let prefix = 0;
      let complete = false;
      while (prefix < available && prefix < 5) {
        const b = this.buffer.get(prefix++);
        length += (b & 0x7f) * scale;
        scale *= 0x80;
        if ((b & 0x80) === 0) {
          if (b === 0 && prefix > 1) throw new CodecError("frame length has an overlong encoding");
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (prefix >= 5) throw new CodecError("frame length prefix longer than 5 bytes");
        return frames;
      }
      if (length > this.maxFrameBytes) throw new CodecError(`frame of ${length} bytes exceeds the ${this.maxFrameBytes}-byte limit`);
      if (available < prefix + length) return frames;
      frames.push(this.buffer.subarray(prefix, prefix + length));
      this.buffer.consume(prefix + length);
    }
  }

  get bufferedBytes(): number {
    return this.buffer.byteLength;
  }
}
