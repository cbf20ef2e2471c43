// Relevance message of pooling, gathered per input value (or written per window, TILED):
// out[i] = a[i] * sum over the windows covering i of R[o] * w, with w = 1 if i won window o
// (MAX) or 1/(real cells of o) (average; with PLUS only non-negative activations contribute).
// ACCUMULATE adds to out. Counts and C are in Values (VEC: four channels).

struct Params {
  total: u32, inH: u32, inW: u32, C: u32,
  outH: u32, outW: u32, KH: u32, KW: u32,
  strideH: u32, strideW: u32, padTop: u32, padLeft: u32,
}

//#include stream

@group(0) @binding(0) var<storage, read> rel: array<Value>;
@group(0) @binding(1) var<storage, read> act: array<Value>;
@group(0) @binding(2) var<storage, read_write> out: array<Value>;
@group(0) @binding(3) var<uniform> p: Params;
#if ${MAX}
@group(0) @binding(4) var<storage, read> winner: array<Index>;
#endif

//#include nhwc_index

// Windows start at o*stride - pad; those covering position i satisfy o*stride - pad <= i < o*stride - pad + K.
fn firstWindow(i: u32, pad: u32, k: u32, stride: u32) -> u32 {
  let hi = i + pad;
  return select(0u, (hi - k + 1u + stride - 1u) / stride, hi + 1u > k);
}

// out[i] (+)= a[i] * w: input i's message, given the weighted relevance w that reaches it.
fn send(i: u32, w: Value) {
#if ${PLUS}
  // R-LRP+ average pooling: a+ W+ + a- W- with W = 1/k > 0 is a+ W.
  let message = max(act[i], Value(0.0)) * w;
#else
  let message = act[i] * w;
#endif
#if ${ACCUMULATE}
  out[i] += message;
#else
  out[i] = message;
#endif
}

// Cells of window o (start o*stride - pad, length k) inside [0, n).
fn realCells(o: u32, pad: u32, k: u32, stride: u32, n: u32) -> u32 {
  let start = i32(o * stride) - i32(pad);
  return u32(min(start + i32(k), i32(n)) - max(start, 0));
}

#if ${TILED}
// Windows that tile the input exactly (kernel = stride, no padding, no remainder: 2x2 pooling of
// even sizes): each input lies in one window, so one invocation per window Value (`total`
// counts outputs here) writes all its cells, with a fraction of the index arithmetic (integer
// division is emulated per lane on CPU adapters).
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var index = gid.x; index < p.total; index += groups.x * ${WG}u) {
    let at = nhwc(index, p.outH, p.outW, p.C);
    let r = rel[index];
#if ${MAX}
    let won = winner[index];
#else
    let share = r / f32(p.KH * p.KW);
#endif
    for (var ky = 0u; ky < p.KH; ky++) {
      for (var kx = 0u; kx < p.KW; kx++) {
        let i = ((at.x * p.inH + at.y * p.KH + ky) * p.inW + at.z * p.KW + kx) * p.C + at.w;
#if ${MAX}
        send(i, select(Value(0.0), r, won == lanes(i)));
#else
        send(i, share);
#endif
      }
    }
  }
}
#else
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var index = gid.x; index < p.total; index += groups.x * ${WG}u) {
    let at = nhwc(index, p.inH, p.inW, p.C);
    var acc = Value(0.0);
    let oyLast = min((at.y + p.padTop) / p.strideH, p.outH - 1u);
    let oxLast = min((at.z + p.padLeft) / p.strideW, p.outW - 1u);
    for (var oy = firstWindow(at.y, p.padTop, p.KH, p.strideH); oy <= oyLast; oy++) {
      for (var ox = firstWindow(at.z, p.padLeft, p.KW, p.strideW); ox <= oxLast; ox++) {
        let o = ((at.x * p.outH + oy) * p.outW + ox) * p.C + at.w;
#if ${MAX}
        acc += select(Value(0.0), rel[o], winner[o] == lanes(index));
#else
        let cells = realCells(oy, p.padTop, p.KH, p.strideH, p.inH) * realCells(ox, p.padLeft, p.KW, p.strideW, p.inW);
        acc += rel[o] / f32(cells);
#endif
      }
    }
    send(index, acc);
  }
}
#endif
