// Copies an H x W x C region between NHWC tensors of different sizes, each with its own
// spatial and channel offset; source cells outside the source read as 0. Forward: a
// Concatenate slice or ZeroPadding2D. Relevance: the reverse (slice out, crop), accumulated.
// Counts and channel sizes and offsets are in Values (VEC: four channels).

struct Params {
  total: u32, H: u32, W: u32, C: u32,
  srcH: u32, srcW: u32, srcC: u32, srcChannel: u32,
  dstH: u32, dstW: u32, dstC: u32, dstChannel: u32,
  srcTop: i32, srcLeft: i32, dstTop: u32, dstLeft: u32,
}

//#include stream

@group(0) @binding(0) var<storage, read> src: array<Value>;
@group(0) @binding(1) var<storage, read_write> dst: array<Value>;
@group(0) @binding(2) var<uniform> p: Params;

//#include nhwc_index

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var index = gid.x; index < p.total; index += groups.x * ${WG}u) {
    let at = nhwc(index, p.H, p.W, p.C);
    let sy = i32(at.y) + p.srcTop;
    let sx = i32(at.z) + p.srcLeft;
    var v = Value(0.0);
    if (sy >= 0 && sx >= 0 && u32(sy) < p.srcH && u32(sx) < p.srcW) {
      v = src[((at.x * p.srcH + u32(sy)) * p.srcW + u32(sx)) * p.srcC + p.srcChannel + at.w];
    }
    let d = ((at.x * p.dstH + at.y + p.dstTop) * p.dstW + at.z + p.dstLeft) * p.dstC + p.dstChannel + at.w;
#if ${ACCUMULATE}
    dst[d] += v;
#else
    dst[d] = v;
#endif
  }
}
