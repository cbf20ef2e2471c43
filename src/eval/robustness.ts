import { l2 } from './statistics.js';

/**
 * Robustness of an explanation under small input noise: max-sensitivity (Yeh et al. 2019) and a
 * local Lipschitz estimate (Alvarez-Melis & Jaakkola 2018), both as maxima over noisy copies of
 * the input drawn uniformly from an L-infinity ball of each radius.
 */

/** `draws` copies of `x` per radius, x + U(-r, r) element-wise, radius-major, back to back. */
export function noisyCopies(x: ArrayLike<number>, radii: readonly number[], draws: number, random: () => number): Float32Array {
  const per = x.length;
  const out = new Float32Array(radii.length * draws * per);
  radii.forEach((r, i) => {
    for (let d = 0; d < draws; d++) {
      const base = (i * draws + d) * per;
      for (let k = 0; k < per; k++) out[base + k] = x[k] + r * (2 * random() - 1);
    }
  });
  return out;
}

function distance(a: ArrayLike<number>, b: ArrayLike<number>, scaleA = 1, scaleB = 1): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] * scaleA - b[i] * scaleB) ** 2;
  return Math.sqrt(s);
}

/** max_j ||E(x_j) - E(x)||_2 / ||E(x)||_2: how far the explanation moves, relative to its size. */
export function maxSensitivity(original: ArrayLike<number>, perturbed: readonly ArrayLike<number>[]): number {
  const norm = l2(original);
  return Math.max(...perturbed.map((e) => distance(e, original) / norm));
}

/**
 * max_j ||E(x_j)/||E(x_j)|| - E(x)/||E(x)|| ||_2 / ||x_j - x||_2: the change of the explanation's
 * shape (each map scaled to unit L2 norm, so methods of any scale compare) per unit input change.
 */
export function lipschitzEstimate(original: ArrayLike<number>, perturbed: readonly ArrayLike<number>[], x: ArrayLike<number>, xs: readonly ArrayLike<number>[]): number {
  const norm = l2(original);
  return Math.max(...perturbed.map((e, j) => distance(e, original, 1 / l2(e), 1 / norm) / distance(xs[j], x)));
}

/** Number of NaN and infinite values. */
export function countNonFinite(values: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) n++;
  return n;
}
