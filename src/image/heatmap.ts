/**
 * Relevance to a colour heatmap: channels summed per pixel, normalised by the largest |R| of
 * the sample, then a blue-white-red map (negative blue, zero white, positive red).
 */
export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA bytes, row-major. */
  data: Uint8Array;
}

export function heatmap(relevance: ArrayLike<number>, height: number, width: number, channels: number, sample = 0): RgbaImage {
  const pixels = height * width;
  const sums = new Float64Array(pixels);
  const base = sample * pixels * channels;
  for (let p = 0; p < pixels; p++) for (let c = 0; c < channels; c++) sums[p] += relevance[base + p * channels + c];
  const scale = sums.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
  const data = new Uint8Array(pixels * 4);
  sums.forEach((v, p) => {
    const t = Math.max(-1, Math.min(1, v / scale));
    const fade = Math.round(255 * (1 - Math.abs(t)));
    data.set(t >= 0 ? [255, fade, fade, 255] : [fade, fade, 255, 255], p * 4);
  });
  return { width, height, data };
}
