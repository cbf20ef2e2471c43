import * as h5wasm from 'h5wasm';
import { ModelFormatError } from '../errors.js';
import { ContiguousDatasets } from './hdf5-contiguous.js';
import { offsetsOf } from './find-bytes.js';

/** A read-only view of an HDF5 file held in memory, wrapping h5wasm. */
export interface Hdf5Tensor {
  shape: number[];
  /** For contiguous aligned float32 datasets, a view of the file's bytes (no copy). */
  data: Float32Array;
}

export interface Hdf5ReadOptions {
  /** Read contiguous float datasets straight from the file's bytes (default); false reads every dataset through h5wasm. */
  inPlace?: boolean;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function isHdf5(bytes: Uint8Array): boolean {
  // The superblock may sit at 0, 512, 1024, 2048, ... (a user block precedes it).
  for (let at = 0; at + 8 <= bytes.length; at = at === 0 ? 512 : at * 2) {
    if (HDF5_SIGNATURE.every((b, i) => bytes[at + i] === b)) return true;
    if (at > 1 << 20) break;
  }
  return false;
}

let fileCounter = 0;
let modulePromise: Promise<{ FS: { writeFile(p: string, d: Uint8Array, options?: { canOwn?: boolean }): void; unlink(p: string): void }; activate_throwing_error_handler(): number }> | undefined;

function ready() {
  modulePromise ??= h5wasm.ready.then((module) => {
    const m = module as unknown as Awaited<NonNullable<typeof modulePromise>>;
    // HDF5 errors become exceptions with the library's own message instead of stderr noise.
    m.activate_throwing_error_handler();
    return m;
  });
  return modulePromise;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** HDF5 type classes (H5T_class_t) that h5wasm reports in its metadata. */
const H5T_FLOAT = 1;
/** Deflate (HDF5's gzip filter) cannot expand data by more than about 1032:1. */
const MAX_FILTER_RATIO = 1032;

interface StorageMetadata {
  type: number;
  size: number;
  shape: number[] | null;
}

export class Hdf5File {
  /** How many datasets were read in place and how many through h5wasm. */
  readonly reads = { inPlace: 0, h5wasm: 0 };

  private constructor(
    private readonly file: h5wasm.File, private readonly path: string, private readonly fs: { unlink(p: string): void }, readonly label: string, private readonly fileBytes: number,
    private readonly contiguous: ContiguousDatasets | undefined,
  ) {}

  static async open(bytes: Uint8Array, label: string, options: Hdf5ReadOptions = {}): Promise<Hdf5File> {
    if (!isHdf5(bytes)) throw new ModelFormatError(`${label} is not an HDF5 file (no HDF5 signature)`);
    checkGlobalHeaps(bytes, label);
    const module = await ready();
    const path = `/rlrp-${++fileCounter}.h5`;
    // The in-memory file system keeps a view of the bytes instead of copying them (the file is
    // only read): one less copy of a 500 MB model.
    module.FS.writeFile(path, bytes, { canOwn: true });
    try {
      const contiguous = options.inPlace === false ? undefined : ContiguousDatasets.open(bytes);
      return new Hdf5File(new h5wasm.File(path, 'r'), path, module.FS, label, bytes.length, contiguous);
    } catch (e) {
      module.FS.unlink(path);
      throw new ModelFormatError(`${label}: HDF5 file is corrupt or truncated (${firstLine(e)})`);
    }
  }

  close(): void {
    try {
      this.file.close();
    } catch {
      // A corrupt file may fail to close cleanly; its memory goes with the unlink below.
    }
    this.fs.unlink(this.path);
  }

  /** Runs an h5wasm call; whatever it throws on a corrupt file becomes a ModelFormatError naming `what`. */
  private guard<T>(what: string, read: () => T): T {
    try {
      return read();
    } catch (e) {
      if (e instanceof ModelFormatError) throw e;
      throw new ModelFormatError(`${this.label}: cannot read ${what}, the file is corrupt or truncated (${firstLine(e)})`);
    }
  }

  /**
   * Refuses a read whose declared size (shape x element size) the file cannot hold: the bytes
   * would be allocated before HDF5 notices the data is missing.
   */
  private checkDeclaredSize(what: string, metadata: StorageMetadata, compressed: boolean): void {
    const shape = metadata.shape ?? [];
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ModelFormatError(`${this.label}: ${what} has an invalid shape [${shape.join(', ')}]`);
    const bytes = shape.reduce((a, b) => a * b, 1) * Math.max(1, metadata.size);
    const limit = compressed ? Math.min(2 ** 31 - 1, this.fileBytes * MAX_FILTER_RATIO) : this.fileBytes;
    if (!(bytes <= limit)) {
      throw new ModelFormatError(`${this.label}: ${what} declares shape [${shape.join(', ')}] (${bytes} bytes), more than the ${this.fileBytes}-byte file can hold`);
    }
  }

  private entity(path: string) {
    try {
      return path === '' || path === '/' ? this.file : this.file.get(path);
    } catch (e) {
      throw new ModelFormatError(`${this.label}: cannot read '${path}' (${firstLine(e)})`);
    }
  }

  has(path: string): boolean {
    const parts = path.split('/').filter(Boolean);
    let current = '';
    for (const part of parts) {
      const group = this.entity(current);
      if (!(group instanceof h5wasm.Group) || !this.guard(`the members of '${current || '/'}'`, () => group.keys()).includes(part)) return false;
      current = current ? `${current}/${part}` : part;
    }
    return true;
  }

  keys(path: string): string[] {
    const group = this.entity(path);
    return group instanceof h5wasm.Group ? this.guard(`the members of '${path || '/'}'`, () => group.keys()) : [];
  }

  isGroup(path: string): boolean {
    return this.has(path) && this.entity(path) instanceof h5wasm.Group;
  }

  /** An attribute's value, or undefined when absent. Byte strings come back as strings. */
  attr(path: string, name: string): unknown {
    const target = this.entity(path);
    const where = `attribute '${name}' on '${path || '/'}'`;
    if (!(target instanceof h5wasm.Group || target instanceof h5wasm.Dataset)) return undefined;
    return this.guard(where, () => {
      const attrs = target.attrs;
      if (!(name in attrs)) return undefined;
      const attribute = attrs[name];
      this.checkDeclaredSize(where, attribute.metadata, false);
      return attribute.value;
    });
  }

  stringListAttr(path: string, name: string): string[] | undefined {
    const value = this.attr(path, name);
    if (value === undefined || value === null) return undefined;
    const list = Array.isArray(value) ? value : ArrayBuffer.isView(value) && !(value instanceof Uint8Array) ? Array.from(value as unknown as ArrayLike<number>) : [value];
    return list.map((v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v)));
  }

  tensor(path: string): Hdf5Tensor {
    const dataset = this.entity(path);
    if (!(dataset instanceof h5wasm.Dataset)) throw new ModelFormatError(`${this.label}: '${path}' is not a dataset`);
    const where = `dataset '${path}'`;
    const { metadata, dtype, compressed } = this.guard(where, () => ({ metadata: dataset.metadata, dtype: dataset.dtype, compressed: dataset.filters.length > 0 }));
    if (metadata.type !== H5T_FLOAT || ![2, 4, 8].includes(metadata.size)) {
      throw new ModelFormatError(`${this.label}: ${where} has unsupported dtype ${JSON.stringify(dtype)} (weights must be float16, float32 or float64)`);
    }
    this.checkDeclaredSize(where, metadata, compressed);
    const shape = metadata.shape ?? [];
    const count = shape.reduce((a, b) => a * b, 1);
    const raw = compressed || !metadata.littleEndian ? undefined : this.contiguousBytes(dataset, metadata.size, count);
    if (raw) {
      this.reads.inPlace++;
      return { shape, data: floatsOf(raw, metadata.size) };
    }
    this.reads.h5wasm++;
    const value = this.guard(where, () => dataset.value);
    let data: Float32Array;
    if (value instanceof Float32Array) data = value;
    else if (value instanceof Float64Array) data = Float32Array.from(value);
    else if (value instanceof Uint16Array) data = Float32Array.from(value, halfToFloat);
    else if (typeof value === 'number') data = Float32Array.of(value);
    else throw new ModelFormatError(`${this.label}: ${where} has unsupported dtype ${JSON.stringify(dtype)}`);
    if (data.length !== count) throw new ModelFormatError(`${this.label}: ${where} holds ${data.length} values for shape [${shape}]`);
    return { shape, data };
  }

  /** The dataset's values in the file's bytes when they are stored there as they are (see ContiguousDatasets). */
  private contiguousBytes(dataset: h5wasm.Dataset, elementSize: number, count: number): Uint8Array | undefined {
    if (!this.contiguous) return undefined;
    let reference: Uint8Array;
    try {
      // An object reference is the address of the object's header (hobj_ref_t is an haddr_t).
      reference = Uint8Array.from(dataset.create_reference().ref_data);
    } catch {
      return undefined;
    }
    if (reference.length !== 8) return undefined;
    const address = new DataView(reference.buffer).getBigUint64(0, true);
    return address <= BigInt(Number.MAX_SAFE_INTEGER) ? this.contiguous.floats(Number(address), elementSize, count) : undefined;
  }
}

/**
 * Float32 values of little-endian IEEE floats of `size` bytes: aligned float32 is a view of the
 * bytes (no copy: copying a 500 MB model costs as much as reading it); the rest is converted.
 */
function floatsOf(raw: Uint8Array, size: number): Float32Array {
  const count = raw.length / size;
  const aligned = raw.byteOffset % size === 0 ? raw : raw.slice();
  if (size === 4) return new Float32Array(aligned.buffer, aligned.byteOffset, count);
  if (size === 8) return Float32Array.from(new Float64Array(aligned.buffer, aligned.byteOffset, count));
  return Float32Array.from(new Uint16Array(aligned.buffer, aligned.byteOffset, count), halfToFloat);
}

/** HDF5 never makes a global heap collection smaller than this (H5HG_MINSIZE). */
const GLOBAL_HEAP_MIN_SIZE = 4096;

/**
 * Walks every global heap collection (where variable-length strings such as Keras's layer and
 * weight names live) the way HDF5 does, and refuses one whose object sizes do not step through
 * it exactly: HDF5 loops forever on a zero-sized free-space object, which one flipped bit in a
 * size field can produce, and synchronous WebAssembly cannot be interrupted.
 */
function checkGlobalHeaps(bytes: Uint8Array, label: string): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const at of offsetsOf(GLOBAL_HEAP_SIGNATURE, bytes)) {
    // "GCOL", version 1, three reserved zero bytes, then an 8-byte collection size of at least 4096.
    if (at + 16 > bytes.length || view.getUint32(at + 4, false) !== 0x01000000) continue;
    const size = Number(view.getBigUint64(at + 8, true));
    if (size < GLOBAL_HEAP_MIN_SIZE || view.getUint32(at + 12, true) !== 0) continue; // not a collection header
    const end = at + size;
    if (end > bytes.length) throw new ModelFormatError(`${label}: HDF5 global heap at byte ${at} runs past the end of the file (truncated or corrupt)`);
    let p = at + 16;
    while (p < end) {
      if (p + 16 > end) break; // too small for an object header: free space, as HDF5 reads it
      const index = view.getUint16(p, true);
      const objectSize = Number(view.getBigUint64(p + 8, true));
      const need = index > 0 ? 16 + Math.ceil(objectSize / 8) * 8 : objectSize;
      if (need <= 0 || p + need > end) throw new ModelFormatError(`${label}: HDF5 global heap at byte ${at} is corrupt (object ${index} at byte ${p} has size ${objectSize})`);
      p += need;
    }
  }
}

/** "GCOL", the signature of a global heap collection. */
const GLOBAL_HEAP_SIGNATURE = Uint8Array.of(0x47, 0x43, 0x4f, 0x4c);

function firstLine(e: unknown): string {
  const text = String((e as Error)?.message ?? e);
  return (text.split('\n').find((l) => /error|unable/i.test(l)) ?? text.split('\n')[0]).trim();
}
