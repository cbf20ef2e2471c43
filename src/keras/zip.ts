import { ModelFormatError } from '../errors.js';

/**
 * Minimal ZIP reader for Keras 3 `.keras` archives: central directory, stored and
 * deflated entries (deflate through the platform's DecompressionStream).
 */
export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
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
      const name = new TextDecoder().decode(bytes.subarray(offset + 46, offset + 46 + nameLength));
      this.entries.set(name, {
        name,
        method: this.view.getUint16(offset + 10, true),
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

  async read(name: string): Promise<Uint8Array> {
    const entry = this.entries.get(name);
    if (!entry) throw new ModelFormatError(`${this.label}: archive has no '${name}' (entries: ${[...this.entries.keys()].join(', ')})`);
    const at = entry.localHeaderOffset;
    if (at + 30 > this.bytes.length || this.view.getUint32(at, true) !== 0x04034b50) {
      throw new ModelFormatError(`${this.label}: corrupt ZIP local header for '${name}'`);
    }
    const start = at + 30 + this.view.getUint16(at + 26, true) + this.view.getUint16(at + 28, true);
    const end = start + entry.compressedSize;
    if (end > this.bytes.length) throw new ModelFormatError(`${this.label}: '${name}' is truncated`);
    const raw = this.bytes.subarray(start, end);
    if (entry.method === 0) return raw;
    if (entry.method !== 8) throw new ModelFormatError(`${this.label}: '${name}' uses unsupported ZIP compression method ${entry.method}`);
    try {
      const stream = new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
      const out = new Uint8Array(await new Response(stream).arrayBuffer());
      if (out.length !== entry.size) throw new Error(`inflated ${out.length} bytes, expected ${entry.size}`);
      return out;
    } catch (e) {
      throw new ModelFormatError(`${this.label}: could not inflate '${name}': ${(e as Error).message}`);
    }
  }
}
