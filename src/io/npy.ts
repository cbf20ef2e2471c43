import { RlrpError } from '../errors.js';

/**
 * NumPy .npy reader and writer (format versions 1.0-3.0), the CLI's interchange format.
 * Reads little-endian float32/float64/uint8/int32 arrays in C order and returns float32.
 */

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

export class NpyError extends RlrpError {
  override name = 'NpyError';
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

type Reader = (view: DataView, offset: number) => number;
const READERS: Record<string, { bytes: number; read: Reader }> = {
  '<f4': { bytes: 4, read: (v, o) => v.getFloat32(o, true) },
  '<f8': { bytes: 8, read: (v, o) => v.getFloat64(o, true) },
  '|u1': { bytes: 1, read: (v, o) => v.getUint8(o) },
  '<i4': { bytes: 4, read: (v, o) => v.getInt32(o, true) },
  '<i8': { bytes: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
};

export function parseNpy(input: ArrayBuffer | Uint8Array): NpyArray {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new NpyError('not a NumPy .npy file (missing \\x93NUMPY magic)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLen > bytes.length) throw new NpyError('truncated .npy header');
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyError(`unreadable .npy header: ${header.trim()}`);
  }
  if (fortran === 'True') throw new NpyError('Fortran-ordered .npy arrays are not supported; save with C order');
  const reader = READERS[descr];
  if (!reader) throw new NpyError(`unsupported .npy dtype '${descr}' (use float32 '<f4')`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLen;
  if (dataStart + count * reader.bytes > bytes.length) {
    throw new NpyError(`truncated .npy data: shape [${shape.join(', ')}] needs ${count * reader.bytes} bytes, file has ${bytes.length - dataStart}`);
  }
  let data: Float32Array;
  if (descr === '<f4' && (bytes.byteOffset + dataStart) % 4 === 0) {
    data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + dataStart, bytes.byteOffset + dataStart + count * 4));
  } else {
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = reader.read(view, dataStart + i * reader.bytes);
  }
  return { shape, data };
}

/** Writes a float32 C-order .npy (version 1.0). */
export function formatNpy(array: NpyArray): Uint8Array {
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) {
    throw new NpyError(`shape [${array.shape.join(', ')}] does not match ${array.data.length} values`);
  }
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad so that the data starts on a 64-byte boundary, as NumPy does.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + count * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  new Uint8Array(out.buffer, 10 + header.length).set(new Uint8Array(array.data.buffer, array.data.byteOffset, count * 4));
  return out;
}
