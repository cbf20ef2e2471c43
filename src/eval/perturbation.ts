import { InputShapeError } from '../errors.js';
import { trapezoid } from './statistics.js';

/**
 * Region perturbation (pixel flipping): patches of an image replaced in the order an explanation
 * ranks them, building every step's image on the CPU so that one batched forward pass scores them all.
 */

export type Replacement = 'zero' | 'mean' | 'blur' | 'uniform';
export const REPLACEMENTS: readonly Replacement[] = ['zero', 'mean', 'blur', 'uniform'];

/** One image's geometry: height, width, channels (NHWC without the batch). */
export interface ImageShape { height: number; width: number; channels: number }

export function imageShape(shape: readonly number[]): ImageShape {
  if (shape.length !== 3) throw new InputShapeError(`perturbation metrics need image inputs [height, width, channels], the model takes [${shape.join(', ')}]`);
  return { height: shape[0], width: shape[1], channels: shape[2] };
}

/** The patch grid: patches are square, row-major; the last row/column may be cut short. */
export class PatchGrid {
  readonly rows: number;
  readonly cols: number;

  constructor(readonly image: ImageShape, readonly patch: number) {
    if (!Number.isInteger(patch) || patch < 1 || patch > Math.max(image.height, image.width)) {
      throw new InputShapeError(`patch size must be an integer in [1, ${Math.max(image.height, image.width)}], got ${patch}`);
    }
    this.rows = Math.ceil(image.height / patch);
    this.cols = Math.ceil(image.width / patch);
  }

  get count(): number {
    return this.rows * this.cols;
  }

  /** Calls `visit` with the flat NHWC offset (channel 0) of every pixel of patch `p`. */
  forEachPixel(p: number, visit: (offset: number) => void): void {
    const { height, width, channels } = this.image;
    const y0 = Math.floor(p / this.cols) * this.patch;
    const x0 = (p % this.cols) * this.patch;
    for (let y = y0; y < Math.min(height, y0 + this.patch); y++) {
      for (let x = x0; x < Math.min(width, x0 + this.patch); x++) visit((y * width + x) * channels);
    }
  }

  /** Sum of the relevance (all channels) inside each patch. */
  scores(relevance: ArrayLike<number>): Float64Array {
    const { channels } = this.image;
    const out = new Float64Array(this.count);
    for (let p = 0; p < this.count; p++) {
      this.forEachPixel(p, (o) => { for (let c = 0; c < channels; c++) out[p] += relevance[o + c]; });
    }
    return out;
  }

  /** Patch indices, most relevant first (ties by position). Least relevant first is its reverse. */
  mostRelevantFirst(relevance: ArrayLike<number>): number[] {
    const s = this.scores(relevance);
    // Non-finite relevance ranks last: a broken explanation must not look faithful.
    const key = (p: number) => (Number.isFinite(s[p]) ? s[p] : -Infinity);
    return Array.from({ length: this.count }, (_, p) => p).sort((a, b) => key(b) - key(a) || a - b);
  }
}

/** Patches perturbed after each step k = 0..steps: round(k * patches / steps). */
export function stepCounts(patches: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new InputShapeError(`steps must be a positive integer, got ${steps}`);
  return Array.from({ length: steps + 1 }, (_, k) => Math.round((k * patches) / steps));
}

/** Separable Gaussian blur of each channel (edges clamped). */
export function blur(x: ArrayLike<number>, image: ImageShape, sigma: number): Float32Array {
  const { height, width, channels } = image;
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const weights = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = weights.reduce((a, b) => a + b, 0);
  const pass = (src: ArrayLike<number>, horizontal: boolean): Float32Array => {
    const out = new Float32Array(height * width * channels);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < channels; c++) {
          let s = 0;
          for (let i = -radius; i <= radius; i++) {
            const yy = horizontal ? y : Math.min(height - 1, Math.max(0, y + i));
            const xx = horizontal ? Math.min(width - 1, Math.max(0, x + i)) : x;
            s += weights[i + radius] * src[(yy * width + xx) * channels + c];
          }
          out[(y * width + x) * channels + c] = s / total;
        }
      }
    }
    return out;
  };
  return pass(pass(x, true), false);
}

/**
 * What a perturbed patch becomes: zeros, the image's per-channel mean, a Gaussian blur of the image
 * (sigma = image size / 16), or uniform noise over the image's value range (from `random`).
 */
export function replacementImage(x: ArrayLike<number>, image: ImageShape, kind: Replacement, random: () => number): Float32Array {
  const { height, width, channels } = image;
  const n = height * width * channels;
  switch (kind) {
    case 'zero':
      return new Float32Array(n);
    case 'mean': {
      const means = new Float64Array(channels);
      for (let i = 0; i < n; i++) means[i % channels] += x[i];
      return Float32Array.from({ length: n }, (_, i) => means[i % channels] / (height * width));
    }
    case 'blur':
      return blur(x, image, Math.max(height, width) / 16);
    case 'uniform': {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < n; i++) { lo = Math.min(lo, x[i]); hi = Math.max(hi, x[i]); }
      return Float32Array.from({ length: n }, () => lo + (hi - lo) * random());
    }
    default:
      throw new InputShapeError(`unknown replacement '${String(kind)}' (available: ${REPLACEMENTS.join(', ')})`);
  }
}

/**
 * The images of one perturbation curve, steps + 1 of them back to back: starting from `start`,
 * the patches in `order` are overwritten with `fill` cumulatively, `counts[k]` of them in image k.
 * Deletion starts from the image and fills with the replacement; insertion the other way round.
 */
export function curveImages(start: ArrayLike<number>, fill: ArrayLike<number>, grid: PatchGrid, order: readonly number[], counts: readonly number[]): Float32Array {
  const per = grid.image.height * grid.image.width * grid.image.channels;
  const { channels } = grid.image;
  const out = new Float32Array(counts.length * per);
  const current = Float32Array.from(start);
  let done = 0;
  counts.forEach((count, k) => {
    for (; done < count; done++) grid.forEachPixel(order[done], (o) => { for (let c = 0; c < channels; c++) current[o + c] = fill[o + c]; });
    out.set(current, k * per);
  });
  return out;
}

/** Area over the perturbation curve (Samek et al. 2017): mean over steps k = 0..L of f(x_0) - f(x_k). */
export function aopc(curve: readonly number[]): number {
  return curve.reduce((a, v) => a + (curve[0] - v), 0) / curve.length;
}

/** Area under a curve over the fraction of patches perturbed (deletion / insertion AUC, Petsiuk et al. 2018). */
export function curveAuc(counts: readonly number[], curve: readonly number[]): number {
  const total = counts[counts.length - 1];
  return trapezoid(counts.map((c) => c / total), curve);
}
