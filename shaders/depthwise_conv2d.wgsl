// DepthwiseConv2D: output channel c*MULT + m reads only input channel c. One thread per output value.

struct Params {
  total: u32, inH: u32, inW: u32, inC: u32,
  outH: u32, outW: u32, KH: u32, KW: u32,
  strideH: u32, strideW: u32, dilH: u32, dilW: u32,
  padTop: u32, padLeft: u32, mult: u32, _pad0: u32,
}

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

//#include activation_fn
//#include nhwc_index

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = flat_index(gid, groups);
  if (index >= p.total) { return; }
  let outC = p.inC * p.mult;
  let at = nhwc(index, p.outH, p.outW, outC);
  let n = at.x;
  let oy = at.y;
  let ox = at.z;
  let co = at.w;
  let c = co / p.mult;
  var sum = 0.0;
  for (var ky = 0u; ky < p.KH; ky++) {
    let iy = oy * p.strideH + ky * p.dilH - p.padTop;
    if (iy >= p.inH) { continue; }
    for (var kx = 0u; kx < p.KW; kx++) {
      let ix = ox * p.strideW + kx * p.dilW - p.padLeft;
      if (ix >= p.inW) { continue; }
      sum = fma(input[((n * p.inH + iy) * p.inW + ix) * p.inC + c], weight[(ky * p.KW + kx) * outC + co], sum);
    }
  }
#if ${HAS_BIAS}
  sum += bias[co];
#endif
  output[index] = activate(sum);
}
