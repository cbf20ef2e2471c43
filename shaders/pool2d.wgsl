// Max or average pooling (global pooling is a window over the whole image). Average pooling
// divides by the cells inside the image, as TensorFlow's 'same' padding does.

struct Params {
  total: u32, inH: u32, inW: u32, C: u32,
  outH: u32, outW: u32, KH: u32, KW: u32,
  strideH: u32, strideW: u32, padTop: u32, padLeft: u32,
}

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

//#include nhwc_index

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = flat_index(gid, groups);
  if (index >= p.total) { return; }
  let at = nhwc(index, p.outH, p.outW, p.C);
  let n = at.x;
  let oy = at.y;
  let ox = at.z;
  let c = at.w;
#if ${MAX}
  var acc = -3.402823e38;
#else
  var acc = 0.0;
  var count = 0u;
#endif
  for (var ky = 0u; ky < p.KH; ky++) {
    let iy = oy * p.strideH + ky - p.padTop;
    if (iy >= p.inH) { continue; }
    for (var kx = 0u; kx < p.KW; kx++) {
      let ix = ox * p.strideW + kx - p.padLeft;
      if (ix >= p.inW) { continue; }
      let v = input[((n * p.inH + iy) * p.inW + ix) * p.C + c];
#if ${MAX}
      acc = max(acc, v);
#else
      acc += v;
      count++;
#endif
    }
  }
#if ${MAX}
  output[index] = acc;
#else
  output[index] = acc / f32(max(count, 1u));
#endif
}
