/** Relative L2 error of `a` against the reference `b`: |a - b|_2 / |b|_2 (the scripts' twin of test/helpers/compare.ts). */
export function relL2(a, b) {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}
