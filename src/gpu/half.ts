/** IEEE half-precision bits of each value, rounded to nearest even (Node 20 has no Float16Array). */
export function toHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i];
    const x = bits[0];
    const sign = (x >>> 16) & 0x8000;
    const exponent = (x >>> 23) & 0xff;
    const mantissa = x & 0x7fffff;
    if (exponent === 0xff) { out[i] = sign | 0x7c00 | (mantissa ? 0x200 : 0); continue; }
    const e = exponent - 127 + 15;
    if (e >= 0x1f) { out[i] = sign | 0x7c00; continue; } // overflow: infinity
    if (e <= 0) {
      // Subnormal half (or zero): shift the implicit 1 in, round to nearest even.
      if (e < -10) { out[i] = sign; continue; }
      const m = mantissa | 0x800000;
      const shift = 14 - e;
      const half = m >>> shift;
      const rest = m & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      out[i] = sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
      continue;
    }
    const half = (e << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    // A carry out of the mantissa correctly bumps the exponent (up to infinity).
    out[i] = sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
  }
  return out;
}

/** The value of IEEE half-precision bits. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
