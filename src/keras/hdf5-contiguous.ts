/**
 * Finds where a float dataset's values lie in the HDF5 file's own bytes, so that they can be read
 * from there as they are needed instead of being copied out through h5wasm (for VGG16 that copy
 * was most of the load time). Only the simplest storage qualifies: contiguous, unfiltered, in
 * this file, IEEE little-endian float16/32/64. Anything else (chunked or compressed data, external files, a
 * shared or unusual datatype, an old layout message version, a user block, a structure that does
 * not add up) returns undefined and the caller reads the dataset through h5wasm.
 *
 * h5wasm has already opened the file and the dataset and resolved its path, so this reads only
 * the superblock and the dataset's object header (HDF5 file format specification 3.0, sections
 * II.A and IV.A). Every address and length is checked against the file before use, and the
 * header's continuation chain is bounded, so a hostile file cannot make it read out of bounds or
 * loop.
 */

import type { ByteReader } from '../io/byte-reader.js';

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
/** Header message types (IV.A.2). */
const DATATYPE = 0x03;
const EXTERNAL_FILES = 0x07;
const LAYOUT = 0x08;
const FILTERS = 0x0b;
const CONTINUATION = 0x10;
/** Header message flag: the message is stored elsewhere and this is a reference to it. */
const SHARED = 0x02;
/** Far more header chunks and messages than HDF5 writes for a dataset: a longer header is left to h5wasm. */
const MAX_HEADER_CHUNKS = 64;
const MAX_HEADER_MESSAGES = 1024;
const FLOAT_CLASS = 1;
const CONTIGUOUS = 1;

/** The bit layout of IEEE binary16/32/64 as a datatype message states it (IV.A.2.d, floating point). */
const IEEE: Record<number, { precision: number; exponentAt: number; exponentBits: number; mantissaBits: number; bias: number }> = {
  2: { precision: 16, exponentAt: 10, exponentBits: 5, mantissaBits: 10, bias: 15 },
  4: { precision: 32, exponentAt: 23, exponentBits: 8, mantissaBits: 23, bias: 127 },
  8: { precision: 64, exponentAt: 52, exponentBits: 11, mantissaBits: 52, bias: 1023 },
};

/** A structure that points outside the file or does not add up: the dataset is left to h5wasm. */
class Unusable extends Error {}

interface Message {
  type: number;
  flags: number;
  body: number;
  size: number;
}

/** Where a dataset's values lie in the file. */
export interface StorageRange {
  address: number;
  size: number;
}

export class ContiguousDatasets {
  /** Where one field at a time is read to, for a file on disk. */
  private readonly field = new Uint8Array(8);

  private constructor(private readonly file: ByteReader, private readonly offsetSize: number, private readonly lengthSize: number, private readonly endOfFile: number) {}

  /** Undefined for a file whose superblock this does not read (not at byte 0, a base address, odd field sizes). */
  static open(reader: ByteReader): ContiguousDatasets | undefined {
    if (reader.size < 64) return undefined;
    const head = reader.at(0, 64);
    if (SIGNATURE.some((b, i) => head[i] !== b)) return undefined;
    const version = head[8];
    // Superblock versions 0 and 1 (h5py's default) and 2 and 3 (libver 'latest', h5wasm).
    const [offsetSize, lengthSize, baseAt] = version <= 1 ? [head[13], head[14], version === 0 ? 24 : 28] : version <= 3 ? [head[9], head[10], 12] : [0, 0, 0];
    if (![4, 8].includes(offsetSize) || ![4, 8].includes(lengthSize)) return undefined;
    const superblock = new ContiguousDatasets(reader, offsetSize, lengthSize, reader.size);
    try {
      // Addresses are relative to the base address; files with a user block are left to h5wasm.
      if (superblock.unsigned(baseAt, offsetSize) !== 0) return undefined;
      // HDF5 reads nothing past its end-of-file address (two addresses after the base in every
      // version), so neither do we.
      const end = superblock.unsigned(baseAt + 2 * offsetSize, offsetSize);
      return new ContiguousDatasets(reader, offsetSize, lengthSize, Math.min(end, reader.size));
    } catch (e) {
      if (e instanceof Unusable) return undefined;
      throw e;
    }
  }

  /**
   * Where the values of the dataset whose object header is at `headerAddress` lie, when it is
   * stored contiguously as IEEE little-endian floats of `elementSize` bytes, exactly `count` of
   * them, inside the file; otherwise undefined.
   */
  floats(headerAddress: number, elementSize: number, count: number): StorageRange | undefined {
    try {
      const messages = this.headerMessages(headerAddress);
      const ofType = (type: number) => messages.filter((m) => m.type === type);
      const [datatype, layout] = [ofType(DATATYPE), ofType(LAYOUT)];
      if (ofType(FILTERS).length || ofType(EXTERNAL_FILES).length || datatype.length !== 1 || layout.length !== 1) return undefined;
      if (!this.isIeeeLittleEndian(datatype[0], elementSize)) return undefined;
      const data = this.contiguousStorage(layout[0]);
      if (!data || data.size !== elementSize * count) return undefined;
      return data;
    } catch (e) {
      if (e instanceof Unusable) return undefined;
      throw e;
    }
  }

  /** Checks that [at, at + length) lies inside the file's allocated bytes. */
  private range(at: number, length: number): void {
    if (!(Number.isSafeInteger(at) && at >= 0 && length >= 0 && at + length <= this.endOfFile)) throw new Unusable();
  }

  /** A field of the file: a read of a few bytes (a memory view, or one pread for a file on disk). */
  private unsigned(at: number, size: number): number {
    this.range(at, size);
    const bytes = this.file.at(at, size, this.field);
    const view = new DataView(bytes.buffer, bytes.byteOffset, size);
    if (size === 1) return view.getUint8(0);
    if (size === 2) return view.getUint16(0, true);
    if (size === 4) return view.getUint32(0, true);
    const value = view.getBigUint64(0, true);
    // The undefined address (all bits set) and anything past 2^53 are no usable position.
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Unusable();
    return Number(value);
  }

  private signature(at: number, text: string): boolean {
    this.range(at, text.length);
    const bytes = this.file.at(at, text.length, this.field);
    return [...text].every((c, i) => bytes[i] === c.charCodeAt(0));
  }

  /** Every message of an object header (version 1 or 2), following its continuation chunks. */
  private headerMessages(address: number): Message[] {
    const messages: Message[] = [];
    const v2 = this.signature(address, 'OHDR');
    let chunks: { start: number; end: number }[];
    let creationOrder = false;
    if (v2) {
      if (this.unsigned(address + 4, 1) !== 2) throw new Unusable();
      const flags = this.unsigned(address + 5, 1);
      creationOrder = (flags & 0x04) !== 0;
      let at = address + 6 + (flags & 0x20 ? 16 : 0) + (flags & 0x10 ? 4 : 0);
      const sizeBytes = 1 << (flags & 0x03);
      const size = this.unsigned(at, sizeBytes);
      at += sizeBytes;
      chunks = [{ start: at, end: at + size }];
    } else {
      // Version 1: version, reserved, message count (2), reference count (4), header size (4), padding to 16.
      if (this.unsigned(address, 1) !== 1) throw new Unusable();
      const size = this.unsigned(address + 8, 4);
      chunks = [{ start: address + 16, end: address + 16 + size }];
    }
    const messageHeader = v2 ? 4 + (creationOrder ? 2 : 0) : 8;
    for (let c = 0; c < chunks.length; c++) {
      if (c >= MAX_HEADER_CHUNKS) throw new Unusable();
      const { start, end } = chunks[c];
      this.range(start, end - start);
      // What is left after the last whole message header is padding (v1) or a gap (v2).
      for (let at = start; at + messageHeader <= end;) {
        const type = v2 ? this.unsigned(at, 1) : this.unsigned(at, 2);
        const size = this.unsigned(at + (v2 ? 1 : 2), 2);
        const flags = this.unsigned(at + (v2 ? 3 : 4), 1);
        const body = at + messageHeader;
        if (body + size > end || messages.length === MAX_HEADER_MESSAGES) throw new Unusable();
        messages.push({ type, flags, body, size });
        if (type === CONTINUATION) {
          const next = this.unsigned(body, this.offsetSize);
          const length = this.unsigned(body + this.offsetSize, this.lengthSize);
          // A version 2 continuation chunk is 'OCHK', messages, then a 4-byte checksum.
          if (v2 && !(length >= 8 && this.signature(next, 'OCHK'))) throw new Unusable();
          chunks.push(v2 ? { start: next + 4, end: next + length - 4 } : { start: next, end: next + length });
        }
        at = body + size;
      }
    }
    return messages;
  }

  /** A datatype message (IV.A.2.d) for IEEE floats of `size` bytes, little-endian, no padding. */
  private isIeeeLittleEndian(message: Message, size: number): boolean {
    const ieee = IEEE[size];
    if (!ieee || message.flags & SHARED || message.size < 20) return false;
    const at = message.body;
    const classAndVersion = this.unsigned(at, 1);
    const version = classAndVersion >> 4;
    if ((classAndVersion & 0x0f) !== FLOAT_CLASS || version < 1 || version > 3) return false;
    const bits = this.unsigned(at + 1, 1) | (this.unsigned(at + 2, 1) << 8);
    // Bit 0 and 6: byte order (little-endian, not VAX); 1-3: padding; 4-5: implied leading mantissa bit; 8-15: sign position.
    const expectedBits = (2 << 4) | ((ieee.precision - 1) << 8);
    return bits === expectedBits && this.unsigned(at + 3, 1) === 0 && this.unsigned(at + 4, 4) === size
      && this.unsigned(at + 8, 2) === 0 && this.unsigned(at + 10, 2) === ieee.precision
      && this.unsigned(at + 12, 1) === ieee.exponentAt && this.unsigned(at + 13, 1) === ieee.exponentBits
      && this.unsigned(at + 14, 1) === 0 && this.unsigned(at + 15, 1) === ieee.mantissaBits
      && this.unsigned(at + 16, 4) === ieee.bias;
  }

  /** Address and size of a version 3 or 4 data layout message (IV.A.2.i) of the contiguous class, inside the file. */
  private contiguousStorage(message: Message): { address: number; size: number } | undefined {
    if (message.flags & SHARED) return undefined; // not allowed for layouts; HDF5 would look elsewhere
    const at = message.body;
    const version = this.unsigned(at, 1);
    if (version < 3 || version > 4 || this.unsigned(at + 1, 1) !== CONTIGUOUS) return undefined;
    if (2 + this.offsetSize + this.lengthSize > message.size) throw new Unusable();
    const address = this.unsigned(at + 2, this.offsetSize);
    const size = this.unsigned(at + 2 + this.offsetSize, this.lengthSize);
    this.range(address, size);
    return { address, size };
  }
}
