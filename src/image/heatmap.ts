/**
 * Relevance to heatmap pixels, on the CPU in float64: the reference that the WGSL pass
 * (render.ts, shaders/heatmap_render.wgsl) is tested against, and a fallback without a GPU.
 * Channels are summed per pixel; the sum s is normalised symmetrically, u = (s / scale + 1) / 2,
 * and coloured with a 256-entry map as matplotlib's imshow(s, cmap, vmin=-scale, vmax=scale).
 */
import { ImageError } from '../errors.js';
import { colormapLut, colormapNamed, lutIndex, type ColormapName } from './colormaps.js';
import type { Pixels, RgbaImage } from './types.js';

/** Where one sample's relevance lies: an NHWC tensor of `shape` [batch, height, width, channels]. */
export interface RelevanceLayout {
  shape: readonly number[];
  /** Default 0. */
  sample?: number;
}

/** 'max': the largest |s| of the sample; a percentile: that percentile of |s| (values beyond clip); a number: that scale. */
export type HeatmapScale = 'max' | { percentile: number } | number;

export interface HeatmapOptions {
  /** Default 'bwr'. */
  colormap?: ColormapName | string;
  /** Default 'max'. */
  scale?: HeatmapScale;
  /** Blend over this image (the model's input pixels, same height and width): (1 - opacity) * image + opacity * heat. */
  overlay?: { image: Pixels; opacity: number };
}

/** Checks a layout and returns [height, width, channels, offset of the sample in floats]. */
export function checkLayout(layout: RelevanceLayout, available: number): [number, number, number, number] {
  const { shape, sample = 0 } = layout;
  if (shape.length !== 4 || !shape.every((n) => Number.isInteger(n) && n > 0)) {
    throw new ImageError(`a heatmap needs relevance of shape [batch, height, width, channels], not [${shape.join(', ')}]`);
  }
  const [batch, height, width, channels] = shape;
  if (!Number.isInteger(sample) || sample < 0 || sample >= batch) throw new ImageError(`sample ${sample} is not in the batch of ${batch}`);
  if (batch * height * width * channels > available) throw new ImageError(`relevance of shape [${shape.join(', ')}] needs ${batch * height * width * channels} values, but only ${available} are there`);
  return [height, width, channels, sample * height * width * channels];
}

/** Per-pixel channel sums of one sample (float64). */
export function channelSum(relevance: ArrayLike<number>, layout: RelevanceLayout): Float64Array {
  const [height, width, channels, offset] = checkLayout(layout, relevance.length);
  const sums = new Float64Array(height * width);
  for (let p = 0; p < sums.length; p++) for (let c = 0; c < channels; c++) sums[p] += relevance[offset + p * channels + c];
  return sums;
}

/** NumPy's default ('linear') percentile of the values, p in [0, 100]. */
function percentile(values: Float64Array, p: number): number {
  const sorted = Float64Array.from(values).sort();
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** The normalisation scale for channel sums `sums`; 1 where it would be 0 (an all-zero map is all centre colour). */
export function heatmapScale(sums: Float64Array, scale: HeatmapScale = 'max'): number {
  let value: number;
  if (typeof scale === 'number') value = scale;
  else if (scale === 'max') value = sums.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  else {
    const p = scale?.percentile;
    if (typeof p !== 'number' || !(p > 0 && p <= 100)) throw new ImageError(`heatmap percentile ${p} is not in (0, 100]`);
    value = percentile(sums.map(Math.abs), p);
  }
  if (!Number.isFinite(value) || value < 0) throw new ImageError(`heatmap scale ${value} is not a finite non-negative number (does the relevance hold NaN or infinity?)`);
  return value === 0 ? 1 : value;
}

/** Checks an overlay against the heatmap size and returns its opacity. */
export function checkOverlay(overlay: HeatmapOptions['overlay'], height: number, width: number): number {
  if (!overlay) return 1;
  const { image, opacity } = overlay;
  if (!(opacity >= 0 && opacity <= 1)) throw new ImageError(`overlay opacity ${opacity} is not in [0, 1]`);
  if (image.width !== width || image.height !== height) throw new ImageError(`the overlay image is ${image.height} x ${image.width}, the heatmap ${height} x ${width}: use the model's input pixels`);
  return opacity;
}

/** The heatmap of one sample as RGBA (alpha 255). */
export function heatmap(relevance: ArrayLike<number>, layout: RelevanceLayout, options: HeatmapOptions = {}): RgbaImage {
  const lut = colormapLut(colormapNamed(options.colormap ?? 'bwr'));
  const sums = channelSum(relevance, layout);
  const [, height, width] = layout.shape;
  const opacity = checkOverlay(options.overlay, height, width);
  const scale = heatmapScale(sums, options.scale);
  const data = new Uint8Array(sums.length * 4);
  sums.forEach((s, p) => {
    const at = lutIndex((s / scale + 1) / 2) * 3;
    for (let c = 0; c < 3; c++) {
      let v = lut[at + c];
      if (options.overlay) {
        const { image } = options.overlay;
        const under = image.data[p * image.channels + (image.channels === 1 ? 0 : c)];
        v = Math.round((1 - opacity) * under + opacity * v);
      }
      data[p * 4 + c] = v;
    }
    data[p * 4 + 3] = 255;
  });
  return { width, height, data };
}
