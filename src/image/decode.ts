/**
 * PNG and JPEG decoding for Node with pure-JS decoders (pngjs, jpeg-js). The browser build uses
 * decode-browser.ts instead, so these packages never reach a bundle.
 */
import { readFile } from 'node:fs/promises';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { ImageError } from '../errors.js';
import { MAX_PIXELS, pngColorKey, sniffImage } from './sniff.js';
import type { DecodedImage, DecodeOptions } from './types.js';

/**
 * Decodes PNG (any colour type and bit depth, interlaced or not; 16-bit samples are scaled to 8
 * bits as round(v * 255 / 65535)) or baseline/progressive JPEG (grey, YCbCr, CMYK) to RGBA.
 * EXIF orientation is not applied, as keras.utils.load_img does not apply it either.
 */
export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): DecodedImage {
  const name = options.name ?? 'image';
  const header = sniffImage(bytes, name, options.maxPixels ?? MAX_PIXELS);
  let width: number, height: number, data: Uint8Array;
  try {
    if (header.format === 'png') {
      const png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      ({ width, height } = png);
      data = new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength);
      const key = pngColorKey(bytes);
      if (key) {
        // Colours from a decode without the key, alpha from the one with it.
        const colours = pngjs.PNG.sync.read(Buffer.concat([bytes.subarray(0, key[0]), bytes.subarray(key[1])])).data;
        for (let i = 0; i < data.length; i += 4) data.set(colours.subarray(i, i + 3), i);
      }
    } else {
      // Not tolerant: a truncated file must fail rather than decode to grey rows.
      const pixels = header.width * header.height;
      ({ width, height, data } = jpeg.decode(bytes, {
        useTArray: true, formatAsRGBA: true, tolerantDecoding: false,
        maxResolutionInMP: pixels / 1e6 + 1, maxMemoryUsageInMB: (pixels * 16) / 2 ** 20 + 64,
      }));
    }
  } catch (e) {
    throw new ImageError(`${name}: could not decode the ${header.format.toUpperCase()} data (${(e as Error).message}); the file is truncated or corrupt`);
  }
  if (width !== header.width || height !== header.height || data.length !== width * height * 4) {
    throw new ImageError(`${name}: the ${header.format.toUpperCase()} data decoded to ${width} x ${height}, not the ${header.width} x ${header.height} its header gives`);
  }
  return { width, height, data, format: header.format, channels: header.channels };
}

/** Reads and decodes an image file; a missing or unreadable file is an ImageError naming the path. */
export async function readImage(path: string, options: Omit<DecodeOptions, 'name'> = {}): Promise<DecodedImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImageError(code === 'ENOENT' ? `${path}: no such image file` : code === 'EISDIR' ? `${path}: is a folder, not an image file` : `${path}: cannot read the image file (${(e as Error).message})`);
  }
  return decodeImage(bytes, { ...options, name: path });
}
