/**
 * Pillow's Image.resize for 8-bit images, reproduced operation for operation so that our pixels
 * equal the ones keras.utils.load_img hands to a model: NEAREST through Pillow's affine scaling
 * (source positions accumulated in float64), BILINEAR and BICUBIC through its separable
 * resampler (horizontal pass, rounded to 8 bits, then vertical; 22-bit fixed-point weights) and,
 * for RGBA, on premultiplied alpha.
 */
import type { Pixels } from './types.js';

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic';
export const INTERPOLATIONS: readonly Interpolation[] = ['nearest', 'bilinear', 'bicubic'];

/** Source region [left, top, right, bottom] in pixels, as Pillow's `box`. */
export type Box = [number, number, number, number];

const PRECISION_BITS = 32 - 8 - 2;

const FILTERS = {
  bilinear: { support: 1, weight: (x: number) => Math.max(0, 1 - Math.abs(x)) },
  bicubic: {
    support: 2,
    weight: (x: number) => {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc: per output index, first input index and integer weights. */
function coefficients(inSize: number, in0: number, in1: number, outSize: number, filter: (typeof FILTERS)['bilinear']): { first: Int32Array; weights: number[][] } {
  const scale = (in1 - in0) / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const first = new Int32Array(outSize);
  const weights: number[][] = [];
  for (let o = 0; o < outSize; o++) {
    const center = in0 + (o + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    const k: number[] = [];
    let total = 0;
    for (let x = lo; x < hi; x++) {
      const w = filter.weight((x - center + 0.5) / filterScale);
      k.push(w);
      total += w;
    }
    first[o] = lo;
    weights.push(k.map((w) => {
      const v = (total !== 0 ? w / total : w) * (1 << PRECISION_BITS);
      return Math.trunc(v < 0 ? v - 0.5 : v + 0.5);
    }));
  }
  return { first, weights };
}

function clip8(v: number): number {
  if (v >= 1 << (PRECISION_BITS + 8)) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / (1 << PRECISION_BITS));
}

/** One separable pass along x (`horizontal`) or y, over rows [rowStart, rowStart + outRows) of the source. */
function pass(src: Pixels, horizontal: boolean, first: Int32Array, weights: number[][], rowStart: number, outRows: number): Pixels {
  const { channels } = src;
  const width = horizontal ? first.length : src.width;
  const height = horizontal ? outRows : first.length;
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const k = weights[horizontal ? x : y];
      const start = first[horizontal ? x : y];
      for (let c = 0; c < channels; c++) {
        let sum = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < k.length; i++) {
          const at = horizontal ? ((y + rowStart) * src.width + start + i) : ((start + i) * src.width + x);
          sum += src.data[at * channels + c] * k[i];
        }
        data[(y * width + x) * channels + c] = clip8(sum);
      }
    }
  }
  return { width, height, channels, data };
}

function resampleSeparable(src: Pixels, width: number, height: number, box: Box, filter: (typeof FILTERS)['bilinear']): Pixels {
  const needHorizontal = width !== src.width || box[0] !== 0 || box[2] !== width;
  const needVertical = height !== src.height || box[1] !== 0 || box[3] !== height;
  const h = coefficients(src.width, box[0], box[2], width, filter);
  const v = coefficients(src.height, box[1], box[3], height, filter);
  let out = src;
  if (needHorizontal) {
    // Only the rows the vertical pass reads go through the horizontal one.
    const firstRow = v.first[0];
    const lastRow = v.first[height - 1] + v.weights[height - 1].length;
    out = pass(src, true, h.first, h.weights, firstRow, lastRow - firstRow);
    v.first.forEach((f, i) => (v.first[i] = f - firstRow));
  }
  if (needVertical) out = pass(out, false, v.first, v.weights, 0, height);
  return out === src ? { ...src, data: src.data.slice() } : out;
}

const COORD = (v: number) => (v < 0 ? -1 : Math.trunc(v));

/** Pillow's ImagingScaleAffine (the NEAREST path): positions accumulate as Pillow's doubles do. */
function resampleNearest(src: Pixels, width: number, height: number, box: Box): Pixels {
  const { channels } = src;
  const dx = (box[2] - box[0]) / width;
  const dy = (box[3] - box[1]) / height;
  const xs = new Int32Array(width);
  for (let x = 0, xo = box[0] + dx * 0.5; x < width; x++, xo += dx) xs[x] = Math.min(COORD(xo), src.width - 1);
  const data = new Uint8Array(width * height * channels);
  for (let y = 0, yo = box[1] + dy * 0.5; y < height; y++, yo += dy) {
    const row = Math.min(COORD(yo), src.height - 1);
    for (let x = 0; x < width; x++) {
      const from = (row * src.width + xs[x]) * channels;
      data.set(src.data.subarray(from, from + channels), (y * width + x) * channels);
    }
  }
  return { width, height, channels, data };
}

const mulDiv255 = (a: number, b: number) => {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
};

function premultiply(p: Pixels): Pixels {
  const data = p.data.slice();
  for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) data[i + c] = mulDiv255(data[i + c], data[i + 3]);
  return { ...p, data };
}

function unpremultiply(p: Pixels): Pixels {
  const { data } = p;
  for (let i = 0; i < data.length; i += 4) {
    const alpha = data[i + 3];
    if (alpha !== 0 && alpha !== 255) for (let c = 0; c < 3; c++) data[i + c] = Math.min(255, Math.floor((255 * data[i + c]) / alpha));
  }
  return p;
}

/** Pillow's `image.resize((width, height), resample, box)` for an L, RGB or RGBA image. */
export function resizePixels(src: Pixels, width: number, height: number, interpolation: Interpolation, box: Box = [0, 0, src.width, src.height]): Pixels {
  if (interpolation === 'nearest') return resampleNearest(src, width, height, box);
  if (src.channels === 4) return unpremultiply(resampleSeparable(premultiply(src), width, height, box, FILTERS[interpolation]));
  return resampleSeparable(src, width, height, box, FILTERS[interpolation]);
}
