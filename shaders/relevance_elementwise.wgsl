// Element-wise relevance messages, over Values:
//   AFFINE        out = a * w'[c] * R          (standalone BatchNormalization, Rescaling, Normalization)
//   ADD_SPLIT     out = share(u_k) * R         (operand k of an Add; `total` holds y or sum_k u_k+)
//   POSITIVE_SUM  out += max(u, 0)             (builds sum_k u_k+ for R-LRP+)
// w' and share(u) (add_share.wgsl) follow the rule's options: PLUS keeps positive
// contributions, RATIO divides by the total.
// ACCUMULATE adds the message to out (POSITIVE_SUM always accumulates).

struct Params { count: u32, channels: u32, operands: u32, _pad0: u32 }

//#include stream

@group(0) @binding(0) var<storage, read> rel: array<Value>;
@group(0) @binding(1) var<storage, read> act: array<Value>;
@group(0) @binding(2) var<storage, read_write> out: array<Value>;
@group(0) @binding(3) var<uniform> p: Params;
#if ${AFFINE}
@group(0) @binding(4) var<storage, read> scale: array<Value>;
#elif ${ADD_SPLIT}
@group(0) @binding(4) var<storage, read> total: array<Value>;
//#include add_share
#endif


@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let even = Value(1.0 / f32(p.operands));
  for (var i = gid.x; i < p.count; i += groups.x * ${WG}u) {
    let a = act[i];
#if ${AFFINE}
    let w = scale[i % p.channels];
#if ${PLUS}
    let message = max(a * w, Value(0.0)) * rel[i];
#else
    let message = a * w * rel[i];
#endif
#elif ${ADD_SPLIT}
#if ${RATIO}
    let t = total[i];
#elif ${PLUS}
    let t = total[i];
#else
    let t = Value(0.0);
#endif
    let message = addShare(a, t, even) * rel[i];
#elif ${POSITIVE_SUM}
    let message = max(a, Value(0.0)) + out[i];
#endif
#if ${ACCUMULATE}
    out[i] += message;
#else
    out[i] = message;
#endif
  }
}
