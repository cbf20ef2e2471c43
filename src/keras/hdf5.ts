import * as h5wasm from 'h5wasm';
import { ModelFormatError } from '../errors.js';

/** A read-only view of an HDF5 file held in memory, wrapping h5wasm. */
export interface Hdf5Tensor {
  shape: number[];
  data: Float32Array;
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
let modulePromise: Promise<{ FS: { writeFile(p: string, d: Uint8Array): void; unlink(p: string): void }; activate_throwing_error_handler(): number }> | undefined;

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

export class Hdf5File {
  private constructor(private readonly file: h5wasm.File, private readonly path: string, private readonly fs: { unlink(p: string): void }, readonly label: string) {}

  static async open(bytes: Uint8Array, label: string): Promise<Hdf5File> {
    if (!isHdf5(bytes)) throw new ModelFormatError(`${label} is not an HDF5 file (no HDF5 signature)`);
    const module = await ready();
    const path = `/rlrp-${++fileCounter}.h5`;
    module.FS.writeFile(path, bytes);
    try {
      return new Hdf5File(new h5wasm.File(path, 'r'), path, module.FS, label);
    } catch (e) {
      module.FS.unlink(path);
      const first = String((e as Error).message ?? e).split('\n').find((l) => /error|unable/i.test(l)) ?? String(e);
      throw new ModelFormatError(`${label}: HDF5 file is corrupt or truncated (${first.trim()})`);
    }
  }

  close(): void {
    this.file.close();
    this.fs.unlink(this.path);
  }

  private entity(path: string) {
    try {
      return path === '' || path === '/' ? this.file : this.file.get(path);
    } catch (e) {
      throw new ModelFormatError(`${this.label}: cannot read '${path}' (${String((e as Error).message ?? e).split('\n')[0]})`);
    }
  }

  has(path: string): boolean {
    const parts = path.split('/').filter(Boolean);
    let current = '';
    for (const part of parts) {
      const group = this.entity(current);
      if (!(group instanceof h5wasm.Group) || !group.keys().includes(part)) return false;
      current = current ? `${current}/${part}` : part;
    }
    return true;
  }

  keys(path: string): string[] {
    const group = this.entity(path);
    return group instanceof h5wasm.Group ? group.keys() : [];
  }

  isGroup(path: string): boolean {
    return this.has(path) && this.entity(path) instanceof h5wasm.Group;
  }

  /** An attribute's value, or undefined when absent. Byte strings come back as strings. */
  attr(path: string, name: string): unknown {
    const target = this.entity(path);
    if (!(target instanceof h5wasm.Group || target instanceof h5wasm.Dataset) || !(name in target.attrs)) return undefined;
    try {
      return target.attrs[name].value;
    } catch (e) {
      throw new ModelFormatError(`${this.label}: unreadable attribute '${name}' on '${path || '/'}' (${(e as Error).message})`);
    }
  }

  stringListAttr(path: string, name: string): string[] | undefined {
    const value = this.attr(path, name);
    if (value === undefined) return undefined;
    const list = Array.isArray(value) ? value : [value];
    return list.map((v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v)));
  }

  tensor(path: string): Hdf5Tensor {
    const dataset = this.entity(path);
    if (!(dataset instanceof h5wasm.Dataset)) throw new ModelFormatError(`${this.label}: '${path}' is not a dataset`);
    let value: unknown;
    try {
      value = dataset.value;
    } catch (e) {
      throw new ModelFormatError(`${this.label}: dataset '${path}' is unreadable, the file may be truncated (${String((e as Error).message ?? e).split('\n')[0]})`);
    }
    const shape = (dataset.shape ?? []) as number[];
    let data: Float32Array;
    if (value instanceof Float32Array) data = value;
    else if (value instanceof Float64Array) data = Float32Array.from(value);
    else if (value instanceof Uint16Array && /f2|e/.test(String(dataset.dtype))) data = Float32Array.from(value, halfToFloat);
    else if (typeof value === 'number') data = Float32Array.of(value);
    else throw new ModelFormatError(`${this.label}: dataset '${path}' has unsupported dtype ${JSON.stringify(dataset.dtype)}`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new ModelFormatError(`${this.label}: dataset '${path}' holds ${data.length} values for shape [${shape}]`);
    return { shape, data };
  }
}
