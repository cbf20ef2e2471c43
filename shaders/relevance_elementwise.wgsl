// Element-wise relevance messages (one thread per value):
//   AFFINE        out = a * w'[c] * R          (standalone BatchNormalization, Rescaling, Normalization)
//   ADD_SPLIT     out = share(u_k) * R         (operand k of an Add; `total` holds y or sum_k u_k+)
//   POSITIVE_SUM  out += max(u, 0)             (builds sum_k u_k+ for R-LRP+)
// w' and share(u) follow the rule's options: PLUS keeps positive contributions, RATIO divides
// by the total, and where the total is 0 under RATIO or PLUS each of the m operands gets R / m.
// ACCUMULATE adds the message to out (POSITIVE_SUM always accumulates).

struct Params { count: u32, channels: u32, operands: u32, _pad0: u32 }

@group(0) @binding(0) var<storage, read> rel: array<f32>;
@group(0) @binding(1) var<storage, read> act: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
#if ${AFFINE}
@group(0) @binding(4) var<storage, read> scale: array<f32>;
#elif ${ADD_SPLIT}
@group(0) @binding(4) var<storage, read> total: array<f32>;
#endif

//#include nhwc_index

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = flat_index(gid, groups);
  if (index >= p.count) { return; }
  let a = act[index];
#if ${AFFINE}
  let w = scale[index % p.channels];
#if ${PLUS}
  let message = max(a * w, 0.0) * rel[index];
#else
  let message = a * w * rel[index];
#endif
#elif ${ADD_SPLIT}
#if ${PLUS}
  let u = max(a, 0.0);
#else
  let u = a;
#endif
#if ${RATIO}
  let t = total[index];
  let message = select(u / t, 1.0 / f32(p.operands), t == 0.0) * rel[index];
#elif ${PLUS}
  let message = select(u, 1.0 / f32(p.operands), total[index] == 0.0) * rel[index];
#else
  let message = u * rel[index];
#endif
#elif ${POSITIVE_SUM}
  let message = max(a, 0.0) + out[index];
#endif
#if ${ACCUMULATE}
  out[index] += message;
#else
  out[index] = message;
#endif
}
