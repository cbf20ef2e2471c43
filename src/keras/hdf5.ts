import * as h5wasm from 'h5wasm';
import { ModelFormatError } from '../errors.js';
import { halfToFloat } from '../gpu/half.js';
import { ByteReader, MemoryBytes, reusableBuffer } from '../io/byte-reader.js';
import { Float32Source } from '../io/float32-source.js';
import { ContiguousDatasets } from './hdf5-contiguous.js';
import { offsetsOf } from './find-bytes.js';
import { mountReader, type EmscriptenFs, type MountedReader } from './h5wasm-mount.js';

/** A read-only view of an HDF5 file, wrapping h5wasm. */
export interface Hdf5Tensor {
  shape: number[];
  /**
   * Contiguous float datasets stay in the file until read (a view of its bytes when they are in
   * memory and aligned); the rest are read through h5wasm.
   */
  data: Float32Source;
}

export interface Hdf5ReadOptions {
  /** Read contiguous float datasets straight from the file's bytes (default); false reads every dataset through h5wasm. */
  inPlace?: boolean;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function isHdf5(file: ByteReader): boolean {
  // The superblock may sit at 0, 512, 1024, 2048, ... (a user block precedes it).
  for (let at = 0; at + 8 <= file.size; at = at === 0 ? 512 : at * 2) {
    const head = file.at(at, 8);
    if (HDF5_SIGNATURE.every((b, i) => head[i] === b)) return true;
    if (at > 1 << 20) break;
  }
  return false;
}

let modulePromise: Promise<{ FS: EmscriptenFs; activate_throwing_error_handler(): number }> | undefined;

function ready() {
  modulePromise ??= h5wasm.ready.then((module) => {
    const m = module as unknown as Awaited<NonNullable<typeof modulePromise>>;
    // HDF5 errors become exceptions with the library's own message instead of stderr noise.
    m.activate_throwing_error_handler();
    return m;
  });
  return modulePromise;
}

/** Contiguous datasets up to this size are read when they are found; larger ones when they are needed. */
const READ_NOW_BYTES = 64 * 1024;

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
    private readonly file: h5wasm.File, private readonly mounted: MountedReader, private readonly reader: ByteReader, readonly label: string,
    private readonly contiguous: ContiguousDatasets | undefined,
  ) {}

  /** Opens HDF5 bytes in memory, or a reader whose bytes HDF5 reads only where it needs them. */
  static async open(source: ByteReader | Uint8Array, label: string, options: Hdf5ReadOptions = {}): Promise<Hdf5File> {
    const reader = source instanceof Uint8Array ? new MemoryBytes(source, label) : source;
    reader.hold();
    try {
      if (!isHdf5(reader)) throw new ModelFormatError(`${label} is not an HDF5 file (no HDF5 signature)`);
      checkGlobalHeaps(reader, label);
      const module = await ready();
      const mounted = mountReader(module.FS, reader);
      try {
        const contiguous = options.inPlace === false ? undefined : ContiguousDatasets.open(reader);
        return new Hdf5File(new h5wasm.File(mounted.path, 'r'), mounted, reader, label, contiguous);
      } catch (e) {
        mounted.unmount();
        throw new ModelFormatError(`${label}: HDF5 file is corrupt or truncated (${firstLine(mounted.failure() ?? e)})`);
      }
    } finally {
      reader.release();
    }
  }

  close(): void {
    try {
      this.file.close();
    } catch {
      // A corrupt file may fail to close cleanly; its nodes go with the unmount below.
    }
    this.mounted.unmount();
  }

  /** Runs an h5wasm call; whatever it throws on a corrupt file becomes a ModelFormatError naming `what`. */
  private guard<T>(what: string, read: () => T): T {
    try {
      return read();
    } catch (e) {
      if (e instanceof ModelFormatError) throw e;
      // A read that failed under HDF5 (the file changed or vanished) says so rather than "corrupt".
      const failure = this.mounted.failure();
      if (failure instanceof ModelFormatError) throw failure;
      throw new ModelFormatError(`${this.label}: cannot read ${what}, the file is corrupt or truncated (${firstLine(failure ?? e)})`);
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
    const limit = compressed ? Math.min(2 ** 31 - 1, this.reader.size * MAX_FILTER_RATIO) : this.reader.size;
    if (!(bytes <= limit)) {
      throw new ModelFormatError(`${this.label}: ${what} declares shape [${shape.join(', ')}] (${bytes} bytes), more than the ${this.reader.size}-byte file can hold`);
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
    const range = compressed || !metadata.littleEndian ? undefined : this.contiguousRange(dataset, metadata.size, count);
    if (range) {
      this.reads.inPlace++;
      const data = Float32Source.stored(this.reader, range.address, metadata.size as 2 | 4 | 8, count);
      // Small datasets are read now, while the file is open: read later, each would reopen it.
      if (range.size <= READ_NOW_BYTES) data.values();
      return { shape, data };
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
    return { shape, data: Float32Source.of(data) };
  }

  /** Where the dataset's values lie in the file when they are stored there as they are (see ContiguousDatasets). */
  private contiguousRange(dataset: h5wasm.Dataset, elementSize: number, count: number) {
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

/** Bytes searched at a time for global heaps in a file read from disk: one reused buffer. */
const SCAN_WINDOW = 4 * 1024 * 1024;
const scanBuffer = reusableBuffer();

/**
 * Walks every global heap collection (where variable-length strings such as Keras's layer and
 * weight names live) the way HDF5 does, and refuses one whose object sizes do not step through
 * it exactly: HDF5 loops forever on a zero-sized free-space object, which one flipped bit in a
 * size field can produce, and synchronous WebAssembly cannot be interrupted.
 */
function checkGlobalHeaps(file: ByteReader, label: string): void {
  for (const at of globalHeapSignatures(file)) checkCollection(file, at, label);
}

/**
 * Offsets of every global heap signature in the file, searched `window` bytes at a time (a file
 * on disk is read into one reused buffer); windows overlap by a signature's length less a byte,
 * so one that straddles two windows is found once.
 */
export function globalHeapSignatures(file: ByteReader, window = SCAN_WINDOW): number[] {
  const scratch = new Uint8Array(scanBuffer(window));
  const step = window - (GLOBAL_HEAP_SIGNATURE.length - 1);
  const offsets: number[] = [];
  for (let start = 0; start < file.size; start += step) {
    const bytes = file.at(start, Math.min(window, file.size - start), scratch);
    // A signature that starts in the overlap is the next window's (the last window has no overlap).
    for (const found of offsetsOf(GLOBAL_HEAP_SIGNATURE, bytes)) if (found < step) offsets.push(start + found);
    if (start + bytes.length >= file.size) break;
  }
  return offsets;
}

/** HDF5 never makes a global heap collection smaller than this (H5HG_MINSIZE). */
const GLOBAL_HEAP_MIN_SIZE = 4096;

/** The collection whose "GCOL" signature is at `at`, when its header says it is one. */
function checkCollection(file: ByteReader, at: number, label: string): void {
  if (at + 16 > file.size) return;
  const header = file.at(at, 16);
  const size = Number(new DataView(header.buffer, header.byteOffset, 16).getBigUint64(8, true));
  if (header[7] !== 0 || size < GLOBAL_HEAP_MIN_SIZE || header[12] | header[13] | header[14] | header[15]) return; // not a collection header
  if (at + size > file.size) throw new ModelFormatError(`${label}: HDF5 global heap at byte ${at} runs past the end of the file (truncated or corrupt)`);
  const collection = file.at(at, size);
  const view = new DataView(collection.buffer, collection.byteOffset, size);
  let p = 16;
  while (p < size) {
    if (p + 16 > size) break; // too small for an object header: free space, as HDF5 reads it
    const index = view.getUint16(p, true);
    const objectSize = Number(view.getBigUint64(p + 8, true));
    const need = index > 0 ? 16 + Math.ceil(objectSize / 8) * 8 : objectSize;
    if (need <= 0 || p + need > size) throw new ModelFormatError(`${label}: HDF5 global heap at byte ${at} is corrupt (object ${index} at byte ${at + p} has size ${objectSize})`);
    p += need;
  }
}

/**
 * "GCOL", version 1 and two of its three reserved zero bytes: the start of a global heap
 * collection. Seven bytes rather than eight: Node's Buffer search takes a much slower algorithm
 * from eight bytes on (240 ms over VGG16 against 40).
 */
export const GLOBAL_HEAP_SIGNATURE = Uint8Array.of(0x47, 0x43, 0x4f, 0x4c, 0x01, 0x00, 0x00);

function firstLine(e: unknown): string {
  const text = String((e as Error)?.message ?? e);
  return (text.split('\n').find((l) => /error|unable/i.test(l)) ?? text.split('\n')[0]).trim();
}
