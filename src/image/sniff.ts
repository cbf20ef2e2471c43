/**
 * Reads an image file's format, size and channel count from its header alone, so that both
 * decoders (Node and browser) reject unknown formats, truncated headers and absurd sizes
 * before they allocate any pixels.
 */
import { ImageError } from '../errors.js';
import type { DecodedImage, ImageFormat } from './types.js';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  channels: DecodedImage['channels'];
}

/** Default bound on width x height (a 8192 x 8192 image; 256 MiB of RGBA). */
export const MAX_PIXELS = 8192 * 8192;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function describeStart(bytes: Uint8Array): string {
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length === 0 ? 'the file is empty' : `it starts with bytes ${head}`;
}

/** Byte range [start, end) of the chunk of this type before the pixel data (IDAT), if any. */
function pngChunkBeforeData(bytes: Uint8Array, type: string): [number, number] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 33; at + 8 <= bytes.length;) {
    const name = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const end = at + 12 + view.getUint32(at);
    if (name === 'IDAT') return undefined;
    if (name === type) return [at, end];
    at = end;
  }
  return undefined;
}

/**
 * The tRNS chunk of a grey or RGB PNG (one colour made transparent), if any. pngjs turns such
 * pixels black; Pillow, and so Keras, keeps their colour.
 */
export function pngColorKey(bytes: Uint8Array): [number, number] | undefined {
  return bytes[25] === 0 || bytes[25] === 2 ? pngChunkBeforeData(bytes, 'tRNS') : undefined;
}

function pngHeader(bytes: Uint8Array, view: DataView, what: string): ImageHeader {
  if (bytes.length < 33 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new ImageError(`${what}: truncated PNG (no complete IHDR header)`);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24];
  const colorType = bytes[25];
  const depths: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
  if (!depths[colorType]?.includes(depth)) throw new ImageError(`${what}: corrupt PNG header (colour type ${colorType} with bit depth ${depth})`);
  // A tRNS chunk before the pixel data adds transparency to grey, RGB and palette images.
  const transparent = pngChunkBeforeData(bytes, 'tRNS') !== undefined;
  const channels = ({ 0: transparent ? 2 : 1, 2: transparent ? 4 : 3, 3: transparent ? 4 : 3, 4: 2, 6: 4 } as const)[colorType as 0 | 2 | 3 | 4 | 6];
  return { format: 'png', width, height, channels };
}

function jpegHeader(bytes: Uint8Array, view: DataView, what: string): ImageHeader {
  // Walk the marker segments up to the frame header (SOF0..SOF15 less DHT, JPG and DAC).
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) throw new ImageError(`${what}: corrupt JPEG (no marker at byte ${at})`);
    const marker = bytes[at + 1];
    if (marker === 0xff) { at++; continue; }
    const length = view.getUint16(at + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 10 > bytes.length) break;
      const components = bytes[at + 9];
      if (components !== 1 && components !== 3 && components !== 4) throw new ImageError(`${what}: unsupported JPEG with ${components} colour components`);
      return { format: 'jpeg', height: view.getUint16(at + 5), width: view.getUint16(at + 7), channels: components === 1 ? 1 : 3 };
    }
    if (marker === 0xd9 || marker === 0xda) break;
    at += 2 + length;
  }
  throw new ImageError(`${what}: truncated or corrupt JPEG (no frame header)`);
}

/**
 * The header of a PNG or JPEG file. `what` names the file in messages. Throws ImageError for
 * other formats, truncated headers, zero sizes and more than `maxPixels` pixels.
 */
export function sniffImage(bytes: Uint8Array, what = 'image', maxPixels = MAX_PIXELS): ImageHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: ImageHeader;
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) header = pngHeader(bytes, view, what);
  else if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) header = jpegHeader(bytes, view, what);
  else throw new ImageError(`${what}: not a PNG or JPEG image (${describeStart(bytes)})`);
  const { width, height } = header;
  if (width === 0 || height === 0) throw new ImageError(`${what}: the ${header.format.toUpperCase()} header gives an empty image (${width} x ${height})`);
  if (width * height > maxPixels) {
    throw new ImageError(`${what}: ${width} x ${height} pixels is more than the ${maxPixels} allowed (pass a larger maxPixels to read it anyway)`);
  }
  return header;
}
