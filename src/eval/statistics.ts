/** Small numeric helpers for the evaluation metrics: seeded noise, summaries, rank and image similarity. */

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so every report reproduces. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box-Muller) from a uniform source. */
export function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

// Two-sided 95% Student t quantiles for 1..30 degrees of freedom; beyond, the normal's 1.96 is within 2%.
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export interface Summary {
  mean: number;
  /** 95% confidence interval of the mean (Student t); equal to the mean for one sample. */
  ci95: [number, number];
  /** Finite values summarised (non-finite ones are left out and counted in the report elsewhere). */
  n: number;
}

/** Mean and 95% t-interval of the finite values; null when there are none. */
export function summarize(values: readonly number[]): Summary | null {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return null;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  if (v.length === 1) return { mean, ci95: [mean, mean], n: 1 };
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
  const half = (T975[v.length - 2] ?? 1.96) * sd / Math.sqrt(v.length);
  return { mean, ci95: [mean - half, mean + half], n: v.length };
}

/** Area under y(x) by the trapezoid rule (x ascending). */
export function trapezoid(x: readonly number[], y: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < x.length; i++) area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
  return area;
}

/** Ranks 1..n, ties sharing their average rank. */
export function ranks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const out = new Float64Array(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    for (let k = i; k <= j; k++) out[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Pearson correlation; NaN when either side is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/** Spearman rank correlation (Pearson of the tie-averaged ranks). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

/**
 * Mean structural similarity of two single-channel images with values in [0, dataRange], over
 * 7x7 windows (uniform weights, sample covariance; scikit-image's defaults). Images smaller than
 * the window use one window covering the whole image.
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number, dataRange = 1): number {
  const c1 = (0.01 * dataRange) ** 2;
  const c2 = (0.03 * dataRange) ** 2;
  const wh = Math.min(7, height);
  const ww = Math.min(7, width);
  const n = wh * ww;
  const cov = n > 1 ? n / (n - 1) : 1;
  let total = 0;
  let windows = 0;
  for (let y0 = 0; y0 + wh <= height; y0++) {
    for (let x0 = 0; x0 + ww <= width; x0++) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let y = y0; y < y0 + wh; y++) {
        for (let x = x0; x < x0 + ww; x++) {
          const va = a[y * width + x];
          const vb = b[y * width + x];
          sa += va; sb += vb; saa += va * va; sbb += vb * vb; sab += va * vb;
        }
      }
      const ma = sa / n;
      const mb = sb / n;
      const vara = (saa / n - ma * ma) * cov;
      const varb = (sbb / n - mb * mb) * cov;
      const covab = (sab / n - ma * mb) * cov;
      total += ((2 * ma * mb + c1) * (2 * covab + c2)) / ((ma * ma + mb * mb + c1) * (vara + varb + c2));
      windows++;
    }
  }
  return total / windows;
}

/** Euclidean norm. */
export function l2(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * values[i];
  return Math.sqrt(s);
}
