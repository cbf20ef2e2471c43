import { ModelFormatError } from '../errors.js';

/**
 * Random access to a file's bytes: held in memory (bytes passed in, a fetched URL), or read from
 * disk as they are needed (a path, in Node). A model's weights then go from the page cache to
 * the GPU through one small reused buffer, instead of through a copy of the whole file: on this
 * kind of host, first touching fresh memory costs more than reading the file (VGG16: 553 MB).
 */
export abstract class ByteReader {
  constructor(readonly size: number, readonly label: string) {}

  /** The whole file, when it is held in memory. */
  abstract readonly bytes: Uint8Array | undefined;

  /** Fills `target` with the bytes from `position` on; the range must lie inside the file. */
  abstract readInto(target: Uint8Array, position: number): void;

  /** Keeps what backs the reader open across many reads, until the matching release(). */
  hold(): void {}
  release(): void {}

  /**
   * Bytes [position, position + length): a view of the file when it is in memory, otherwise
   * read into `scratch` when that is large enough (valid until its next use), else a new array.
   */
  at(position: number, length: number, scratch?: Uint8Array): Uint8Array {
    if (this.bytes) return this.bytes.subarray(position, position + length);
    const target = scratch && scratch.length >= length ? scratch.subarray(0, length) : new Uint8Array(length);
    this.readInto(target, position);
    return target;
  }

  protected checkRange(position: number, length: number): void {
    if (!(Number.isSafeInteger(position) && position >= 0 && position + length <= this.size)) {
      throw new RangeError(`${this.label}: read of ${length} bytes at ${position} is outside the ${this.size}-byte file`);
    }
  }
}

export class MemoryBytes extends ByteReader {
  constructor(readonly bytes: Uint8Array, label: string) {
    super(bytes.length, label);
  }

  readInto(target: Uint8Array, position: number): void {
    this.checkRange(position, target.length);
    target.set(this.bytes.subarray(position, position + target.length));
  }
}

type NodeFs = typeof import('node:fs');

/** Reads up to this many bytes go through a cached block of twice the size, aligned to it. */
const SMALL_READ = 32 * 1024;

/**
 * A file on disk (Node). Reads open it when it is not held open; every open checks that the
 * file is still the one first looked at, since weights that nothing has needed yet are read
 * from it later (a rule's modified weights, at explain time).
 */
export class FileBytes extends ByteReader {
  readonly bytes = undefined;
  private fd: number | undefined;
  private holds = 0;
  /**
   * The last block read for small reads, while the file is held: HDF5's metadata and the object
   * headers come in reads of a few bytes, clustered, and each read of the file is a system call.
   */
  private block: { position: number; bytes: Uint8Array } | undefined;

  private constructor(private readonly fs: NodeFs, private readonly path: string, private readonly identity: string, size: number) {
    super(size, path);
  }

  /** Undefined for what is not a regular file (a pipe, a device): such bytes must be read whole. `what` names the file in errors. */
  static async open(path: string, what = 'model'): Promise<FileBytes | undefined> {
    const fs = await import('node:fs');
    let stat: import('node:fs').Stats;
    try {
      stat = fs.statSync(path);
    } catch (e) {
      throw new ModelFormatError(`could not read ${what} file '${path}': ${(e as Error).message}`);
    }
    if (!stat.isFile()) return undefined;
    return new FileBytes(fs, path, identityOf(stat), stat.size);
  }

  hold(): void {
    if (this.holds === 0) this.fd = this.openChecked();
    this.holds++;
  }

  release(): void {
    if (this.holds > 0 && --this.holds === 0 && this.fd !== undefined) {
      this.fs.closeSync(this.fd);
      this.fd = undefined;
      this.block = undefined;
    }
  }

  readInto(target: Uint8Array, position: number): void {
    this.checkRange(position, target.length);
    this.hold();
    try {
      if (target.length > SMALL_READ) {
        this.readAll(target, position);
        return;
      }
      const block = this.block;
      if (!block || position < block.position || position + target.length > block.position + block.bytes.length) {
        const start = position - (position % SMALL_READ);
        const bytes = new Uint8Array(Math.min(2 * SMALL_READ, this.size - start));
        this.readAll(bytes, start);
        this.block = { position: start, bytes };
      }
      target.set(this.block!.bytes.subarray(position - this.block!.position, position - this.block!.position + target.length));
    } finally {
      this.release();
    }
  }

  private readAll(target: Uint8Array, position: number): void {
    for (let done = 0; done < target.length;) {
      const n = this.fs.readSync(this.fd!, target, done, target.length - done, position + done);
      if (n === 0) throw new ModelFormatError(`${this.label}: the file ended at byte ${position + done}, before its ${this.size} bytes (it changed since it was opened)`);
      done += n;
    }
  }

  private openChecked(): number {
    let fd: number;
    try {
      fd = this.fs.openSync(this.path, 'r');
    } catch (e) {
      throw new ModelFormatError(`could not reopen model file '${this.path}' to read weights not read yet: ${(e as Error).message}`);
    }
    if (identityOf(this.fs.fstatSync(fd)) !== this.identity) {
      this.fs.closeSync(fd);
      throw new ModelFormatError(`model file '${this.path}' changed on disk after it was loaded; load it again`);
    }
    return fd;
  }
}

function identityOf(stat: import('node:fs').Stats): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
}

/**
 * A buffer that callers reuse instead of allocating one per call: it stays in memory, so filling
 * it again costs no page faults. Synchronous users only, one owner each.
 */
export function reusableBuffer(): (bytes: number) => ArrayBuffer {
  let buffer = new ArrayBuffer(0);
  return (bytes) => (buffer.byteLength >= bytes ? buffer : (buffer = new ArrayBuffer(bytes)));
}
