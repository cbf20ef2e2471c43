// Copies a NHWC tensor into a region of a larger one: channel slice (Concatenate) or
// spatial offset with zero border (ZeroPadding2D). One thread per output value.

struct Params {
  total: u32, inH: u32, inW: u32, inC: u32,
  outH: u32, outW: u32, outC: u32, top: u32,
  left: u32, channelOffset: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

//#include nhwc_index

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = flat_index(gid, groups);
  if (index >= p.total) { return; }
  // index runs over the output region this dispatch owns: outH x outW x inC per sample.
  let at = nhwc(index, p.outH, p.outW, p.inC);
  let n = at.x;
  let y = at.y;
  let x = at.z;
  let c = at.w;
  let iy = y - p.top;
  let ix = x - p.left;
  var v = 0.0;
  if (iy < p.inH && ix < p.inW) {
    v = input[((n * p.inH + iy) * p.inW + ix) * p.inC + c];
  }
  output[((n * p.outH + y) * p.outW + x) * p.outC + p.channelOffset + c] = v;
}
