/**
 * keras.utils.load_img(path, color_mode, target_size, interpolation, keep_aspect_ratio) on a
 * decoded image: colour conversion as Pillow's convert(), then Pillow's resize, with the centre
 * crop to the target's aspect ratio that keep_aspect_ratio asks for.
 */
import { ImageError } from '../errors.js';
import { INTERPOLATIONS, resizePixels, type Box, type Interpolation } from './resample.js';
import type { Pixels, RgbaImage } from './types.js';

export type ColorMode = 'rgb' | 'grayscale' | 'rgba';
export const COLOR_MODES: readonly ColorMode[] = ['rgb', 'grayscale', 'rgba'];

export interface LoadOptions {
  /** Default 'rgb'. */
  colorMode?: ColorMode;
  /** [height, width]; default: the image's own size. */
  targetSize?: [number, number];
  /** Default 'nearest', as Keras. */
  interpolation?: Interpolation;
  /** Centre-crop to the target's aspect ratio before resizing (default false). */
  keepAspectRatio?: boolean;
}

/** Pillow's convert() from RGBA to L (ITU-R 601-2 luma in 16-bit fixed point; alpha ignored), RGB or RGBA. */
export function convertColor(image: RgbaImage, mode: ColorMode): Pixels {
  const pixels = image.width * image.height;
  const src = image.data;
  if (mode === 'rgba') return { width: image.width, height: image.height, channels: 4, data: src.slice(0, pixels * 4) };
  const channels = mode === 'rgb' ? 3 : 1;
  const data = new Uint8Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    const [r, g, b] = [src[p * 4], src[p * 4 + 1], src[p * 4 + 2]];
    if (channels === 1) data[p] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
    else data.set([r, g, b], p * 3);
  }
  return { width: image.width, height: image.height, channels, data };
}

/** Pixels as opaque RGBA for display (grey repeated, alpha dropped). */
export function toRgba(pixels: Pixels): RgbaImage {
  const { width, height, channels, data } = pixels;
  const out = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) out[p * 4 + c] = data[p * channels + (channels === 1 ? 0 : c)];
    out[p * 4 + 3] = 255;
  }
  return { width, height, data: out };
}

/** The crop box that load_img's keep_aspect_ratio resizes from (integer arithmetic as Keras's). */
function centreCrop(width: number, height: number, targetHeight: number, targetWidth: number): Box {
  const cropHeight = Math.min(height, Math.floor((width * targetHeight) / targetWidth));
  const cropWidth = Math.min(width, Math.floor((height * targetWidth) / targetHeight));
  const top = Math.floor((height - cropHeight) / 2);
  const left = Math.floor((width - cropWidth) / 2);
  return [left, top, left + cropWidth, top + cropHeight];
}

/** The pixels keras.utils.load_img would return for this image (16-bit PNG greys arrive as 8 bits). */
export function loadPixels(image: RgbaImage, options: LoadOptions = {}): Pixels {
  const mode = options.colorMode ?? 'rgb';
  const interpolation = options.interpolation ?? 'nearest';
  if (!COLOR_MODES.includes(mode)) throw new ImageError(`unknown colour mode '${mode}' (valid: ${COLOR_MODES.join(', ')})`);
  if (!INTERPOLATIONS.includes(interpolation)) throw new ImageError(`unknown interpolation '${interpolation}' (valid: ${INTERPOLATIONS.join(', ')})`);
  const pixels = convertColor(image, mode);
  if (!options.targetSize) return pixels;
  const [height, width] = options.targetSize;
  if (![height, width].every((n) => Number.isInteger(n) && n > 0 && n <= 65535)) throw new ImageError(`target size ${height} x ${width} is not a pair of positive whole numbers`);
  if (width === image.width && height === image.height) return pixels;
  const box = options.keepAspectRatio ? centreCrop(image.width, image.height, height, width) : undefined;
  return resizePixels(pixels, width, height, interpolation, box);
}
