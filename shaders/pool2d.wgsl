// Pooling over windows (global pooling is a window over the whole image): average or max;
// max with WINNERS also stores the flat input index of each window's first maximum in
// row-major order, through which the relevance pass routes the window's relevance. Padded cells never win and are not counted: average
// pooling divides by the cells inside the image, as TensorFlow's 'same' padding does.
// Counts and C are in Values (VEC: four channels).

struct Params {
  total: u32, inH: u32, inW: u32, C: u32,
  outH: u32, outW: u32, KH: u32, KW: u32,
  strideH: u32, strideW: u32, padTop: u32, padLeft: u32,
}

//#include stream

@group(0) @binding(0) var<storage, read> input: array<Value>;
@group(0) @binding(1) var<storage, read_write> output: array<Value>;
@group(0) @binding(2) var<uniform> p: Params;
#if ${WINNERS}
@group(0) @binding(3) var<storage, read_write> winner: array<Index>;
#endif

//#include nhwc_index

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var index = gid.x; index < p.total; index += groups.x * ${WG}u) {
    let at = nhwc(index, p.outH, p.outW, p.C);
    var best = Index(0xffffffffu);
    var bestValue = Value(0.0);
    var sum = Value(0.0);
    var count = 0u;
    for (var ky = 0u; ky < p.KH; ky++) {
      let iy = at.y * p.strideH + ky - p.padTop;
      if (iy >= p.inH) { continue; }
      for (var kx = 0u; kx < p.KW; kx++) {
        let ix = at.z * p.strideW + kx - p.padLeft;
        if (ix >= p.inW) { continue; }
        let i = ((at.x * p.inH + iy) * p.inW + ix) * p.C + at.w;
        let v = input[i];
        // Strictly greater: ties keep the first maximum.
        let better = (v > bestValue) | Mask(count == 0u);
        best = select(best, lanes(i), better);
        bestValue = select(bestValue, v, better);
        sum += v;
        count++;
      }
    }
#if ${MAX}
    output[index] = bestValue;
#if ${WINNERS}
    winner[index] = best;
#endif
#else
    output[index] = sum / f32(max(count, 1u));
#endif
  }
}
