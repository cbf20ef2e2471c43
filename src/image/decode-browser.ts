/**
 * PNG and JPEG decoding in the browser with the browser's own decoders (createImageBitmap, then
 * an OffscreenCanvas read-back); the same checks and result as decode.ts in Node. A canvas keeps
 * premultiplied alpha, so colours of semi-transparent pixels may differ by rounding from Node's.
 */
import { ImageError } from '../errors.js';
import { MAX_PIXELS, sniffImage } from './sniff.js';
import type { DecodedImage, DecodeOptions } from './types.js';

export async function decodeImageInBrowser(source: Uint8Array | ArrayBuffer | Blob, options: DecodeOptions = {}): Promise<DecodedImage> {
  const name = options.name ?? 'image';
  const bytes = source instanceof Uint8Array ? source : new Uint8Array(source instanceof Blob ? await source.arrayBuffer() : source);
  const header = sniffImage(bytes, name, options.maxPixels ?? MAX_PIXELS);
  let bitmap: ImageBitmap;
  try {
    // No colour-space conversion and no premultiplication: the file's own sRGB bytes, as Pillow reads them.
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: `image/${header.format}` }), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new ImageError(`${name}: the browser could not decode the ${header.format.toUpperCase()} data (${(e as Error).message}); the file is truncated or corrupt`);
  }
  try {
    const { width, height } = bitmap;
    if (width !== header.width || height !== header.height) throw new ImageError(`${name}: the browser decoded ${width} x ${height}, not the ${header.width} x ${header.height} the header gives`);
    const context = new OffscreenCanvas(width, height).getContext('2d');
    if (!context) throw new ImageError(`${name}: this browser has no 2D OffscreenCanvas to read pixels from`);
    context.drawImage(bitmap, 0, 0);
    const pixels = context.getImageData(0, 0, width, height).data;
    return { width, height, data: new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength), format: header.format, channels: header.channels };
  } finally {
    bitmap.close();
  }
}
