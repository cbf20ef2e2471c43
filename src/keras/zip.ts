import { ModelFormatError } from '../errors.js';

/**
 * Minimal ZIP reader for Keras 3 `.keras` archives: central directory, stored and
 * deflated entries (deflate through the platform's DecompressionStream). Every entry's
 * CRC-32 is checked, and inflation stops at the size the directory declares, which is
 * itself bounded (no zip bombs).
 */
export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** Deflate cannot expand data by more than about 1032:1; a larger declared ratio is a lie. */
const MAX_DEFLATE_RATIO = 1032;

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, as ZIP uses it). */
export function crc32(bytes: Uint8Array): number {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array, private readonly label: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const eocd = this.findEndOfCentralDirectory();
    const count = this.view.getUint16(eocd + 10, true);
    let offset = this.view.getUint32(eocd + 16, true);
    for (let i = 0; i < count; i++) {
      if (offset + 46 > bytes.length || this.view.getUint32(offset, true) !== 0x02014b50) {
        throw new ModelFormatError(`${label}: corrupt ZIP central directory (entry ${i})`);
      }
      const nameLength = this.view.getUint16(offset + 28, true);
      const extraLength = this.view.getUint16(offset + 30, true);
      const commentLength = this.view.getUint16(offset + 32, true);
      if (offset + 46 + nameLength > bytes.length) throw new ModelFormatError(`${label}: corrupt ZIP central directory (entry ${i} name runs past the end)`);
      const name = new TextDecoder().decode(bytes.subarray(offset + 46, offset + 46 + nameLength));
      if (this.entries.has(name)) throw new ModelFormatError(`${label}: ZIP archive lists '${name}' twice`);
      this.entries.set(name, {
        name,
        method: this.view.getUint16(offset + 10, true),
        crc: this.view.getUint32(offset + 16, true),
        compressedSize: this.view.getUint32(offset + 20, true),
        size: this.view.getUint32(offset + 24, true),
        localHeaderOffset: this.view.getUint32(offset + 42, true),
      });
      offset += 46 + nameLength + extraLength + commentLength;
    }
  }

  private findEndOfCentralDirectory(): number {
    for (let i = this.bytes.length - 22; i >= Math.max(0, this.bytes.length - 22 - 65535); i--) {
      if (this.view.getUint32(i, true) === 0x06054b50) return i;
    }
    throw new ModelFormatError(`${this.label}: truncated or corrupt ZIP archive (no end-of-central-directory record)`);
  }

  /** An entry's bytes, at most `maxBytes` of them (checked against the declared size before inflating). */
  async read(name: string, maxBytes: number): Promise<Uint8Array> {
    const entry = this.entries.get(name);
    if (!entry) throw new ModelFormatError(`${this.label}: archive has no '${name}' (entries: ${[...this.entries.keys()].join(', ')})`);
    if (entry.size > maxBytes) throw new ModelFormatError(`${this.label}: '${name}' declares ${entry.size} bytes, more than the ${maxBytes} allowed for it`);
    const at = entry.localHeaderOffset;
    if (at + 30 > this.bytes.length || this.view.getUint32(at, true) !== 0x04034b50) {
      throw new ModelFormatError(`${this.label}: corrupt ZIP local header for '${name}'`);
    }
    const start = at + 30 + this.view.getUint16(at + 26, true) + this.view.getUint16(at + 28, true);
    const end = start + entry.compressedSize;
    if (end > this.bytes.length) throw new ModelFormatError(`${this.label}: '${name}' is truncated`);
    const raw = this.bytes.subarray(start, end);
    let out: Uint8Array;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) throw new ModelFormatError(`${this.label}: stored entry '${name}' has ${entry.compressedSize} bytes, its directory says ${entry.size}`);
      out = raw;
    } else if (entry.method === 8) {
      if (entry.size > entry.compressedSize * MAX_DEFLATE_RATIO + 64) {
        throw new ModelFormatError(`${this.label}: '${name}' claims to inflate ${entry.compressedSize} bytes to ${entry.size}, beyond what deflate can do`);
      }
      out = await this.inflate(name, raw, entry.size);
    } else {
      throw new ModelFormatError(`${this.label}: '${name}' uses unsupported ZIP compression method ${entry.method}`);
    }
    if (crc32(out) !== entry.crc) throw new ModelFormatError(`${this.label}: '${name}' is corrupt (CRC-32 mismatch)`);
    return out;
  }

  /** Inflates chunk by chunk and stops as soon as the output passes the declared size. */
  private async inflate(name: string, raw: Uint8Array, size: number): Promise<Uint8Array> {
    const out = new Uint8Array(size);
    let length = 0;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      reader = new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (length + value.length > size) throw new Error(`inflates past its declared ${size} bytes`);
        out.set(value, length);
        length += value.length;
      }
      if (length !== size) throw new Error(`inflated ${length} bytes, expected ${size}`);
      return out;
    } catch (e) {
      await reader?.cancel().catch(() => undefined);
      throw new ModelFormatError(`${this.label}: could not inflate '${name}': ${(e as Error).message}`);
    }
  }
}
