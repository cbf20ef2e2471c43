import { halfToFloat } from '../gpu/half.js';
import { ByteReader, reusableBuffer } from './byte-reader.js';

/** Values per run when a source is read in pieces: 4 MiB of float32, a size that stays in memory. */
export const RUN_VALUES = 1 << 20;

const runBytes = reusableBuffer();
const mappedRunBytes = reusableBuffer();

/**
 * A weight tensor's float32 values: held in memory, or still in the model file as IEEE
 * little-endian floats (float16, 32 or 64). Uploads and checks read a stored tensor run by run
 * (forEachRun) and never hold it whole in host memory; values() reads it whole, once, for the
 * code that computes with it on the CPU.
 */
export class Float32Source {
  private constructor(
    readonly length: number, private held: Float32Array | undefined,
    private readonly stored?: { reader: ByteReader; position: number; elementSize: 2 | 4 | 8 },
    private readonly mapped?: { from: Float32Source; f: (value: number, index: number) => number },
  ) {}

  static of(values: Float32Array): Float32Source {
    return new Float32Source(values.length, values);
  }

  /** `count` floats of `elementSize` bytes at byte `position` of `reader`. */
  static stored(reader: ByteReader, position: number, elementSize: 2 | 4 | 8, count: number): Float32Source {
    // Float32 in memory, 4-byte aligned: a view of the file's bytes, never a copy.
    if (reader.bytes && elementSize === 4 && (reader.bytes.byteOffset + position) % 4 === 0) {
      return Float32Source.of(new Float32Array(reader.bytes.buffer, reader.bytes.byteOffset + position, count));
    }
    return new Float32Source(count, undefined, { reader, position, elementSize });
  }

  /**
   * f of every value and its index, computed run by run as it is read: a folded or modified
   * kernel (ResNet50's BatchNormalization folds, a rule's modified copy of VGG16's fc1) is never
   * held whole unless something asks for values().
   */
  map(f: (value: number, index: number) => number): Float32Source {
    return new Float32Source(this.length, undefined, undefined, { from: this, f });
  }

  /** All values, read from the file on first use. */
  values(): Float32Array {
    if (!this.held) {
      const values = new Float32Array(this.length);
      this.forEachRun(RUN_VALUES, (run, start) => values.set(run, start));
      this.held = values;
    }
    return this.held;
  }

  /**
   * Calls `visit` with the values in order, `runLength` at a time (the last run may be shorter),
   * and the index of each run's first value. A run of a stored tensor lives in a reused array
   * that the next run overwrites.
   */
  forEachRun(runLength: number, visit: (run: Float32Array, start: number) => void): void {
    if (this.held) {
      for (let start = 0; start < this.length; start += runLength) visit(this.held.subarray(start, Math.min(this.length, start + runLength)), start);
      return;
    }
    if (this.mapped) {
      const { from, f } = this.mapped;
      // A map of a map gets its source's runs in this same memory: each value is read before it is overwritten.
      const out = new Float32Array(mappedRunBytes(4 * runLength), 0, runLength);
      from.forEachRun(runLength, (run, start) => {
        for (let i = 0; i < run.length; i++) out[i] = f(run[i], start + i);
        visit(out.subarray(0, run.length), start);
      });
      return;
    }
    const { reader, position, elementSize } = this.stored!;
    // Raw float32 bytes land in the run's own memory; wider or narrower floats in the bytes after it.
    const memory = runBytes(elementSize === 4 ? 4 * runLength : (4 + elementSize) * runLength);
    const floats = new Float32Array(memory, 0, runLength);
    const scratch = new Uint8Array(memory, 4 * runLength);
    reader.hold();
    try {
      for (let start = 0; start < this.length; start += runLength) {
        const count = Math.min(runLength, this.length - start);
        const run = floats.subarray(0, count);
        if (elementSize === 4) {
          reader.readInto(new Uint8Array(run.buffer, run.byteOffset, 4 * count), position + 4 * start);
        } else {
          const raw = scratch.subarray(0, elementSize * count);
          reader.readInto(raw, position + elementSize * start);
          decode(raw, elementSize, run);
        }
        visit(run, start);
      }
    } finally {
      reader.release();
    }
  }
}

/** Little-endian float16 or float64 bytes into float32 values. */
function decode(raw: Uint8Array, elementSize: 2 | 8, out: Float32Array): void {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (elementSize === 8) {
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
  } else {
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  }
}
