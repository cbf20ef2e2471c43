// Relevance message of DepthwiseConv2D: out[i] = a[i] * sum_j w'[j][i] * R[j], the transposed
// convolution gathered per input value (no scatter, no atomics); input channel c feeds only
// outputs c*N .. c*N + N-1 (N = multiplier). w' is the weight; with PLUS it is max(w, 0) where
// a >= 0 and min(w, 0) where a < 0, so a*w' = max(a*w, 0) (R-LRP+).

struct Params {
  total: u32, inH: u32, inW: u32, inC: u32,
  outH: u32, outW: u32, outStride: u32, N: u32,
  KH: u32, KW: u32, strideH: u32, strideW: u32,
  dilH: u32, dilW: u32, padTop: u32, padLeft: u32,
}

@group(0) @binding(0) var<storage, read> rel: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> act: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

//#include nhwc_index

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = flat_index(gid, groups);
  if (index >= p.total) { return; }
  let at = nhwc(index, p.inH, p.inW, p.inC);
  let a = act[index];
  var acc = 0.0;
  for (var ky = 0u; ky < p.KH; ky++) {
    // Output row oy reads input row oy*stride + ky*dil - padTop; invert it (unsigned wrap fails the test).
    let ty = at.y + p.padTop - ky * p.dilH;
    if (ty >= 0x80000000u || ty % p.strideH != 0u) { continue; }
    let oy = ty / p.strideH;
    if (oy >= p.outH) { continue; }
    for (var kx = 0u; kx < p.KW; kx++) {
      let tx = at.z + p.padLeft - kx * p.dilW;
      if (tx >= 0x80000000u || tx % p.strideW != 0u) { continue; }
      let ox = tx / p.strideW;
      if (ox >= p.outW) { continue; }
      let r = ((at.x * p.outH + oy) * p.outW + ox) * p.outStride + at.w * p.N;
      let w = (ky * p.KW + kx) * p.outStride + at.w * p.N;
      for (var co = 0u; co < p.N; co++) {
#if ${PLUS}
        let wc = select(min(weight[w + co], 0.0), max(weight[w + co], 0.0), a >= 0.0);
#else
        let wc = weight[w + co];
#endif
        acc = fma(rel[r + co], wc, acc);
      }
    }
  }
#if ${ACCUMULATE}
  out[index] += a * acc;
#else
  out[index] = a * acc;
#endif
}
