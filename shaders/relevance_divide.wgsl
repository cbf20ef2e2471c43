// The stabilised division of the classical LRP rules (zennit's stabilize):
//   s = SCALE * R / (z + EPS * sign(z)), sign(0) = +1, z = z0 (+ z1 (+ z2))
// z is the sum of the layer's forward passes with modified inputs/parameters (one per term of
// the rule's group). MASK_POSITIVE / MASK_NEGATIVE keep s only where the unmodified output
// `mask` is > 0 / < 0 (the Gamma rule's two halves). EPS = 0 is LRP-0: a zero z divides by 0.

struct Params { count: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

//#include stream

@group(0) @binding(0) var<storage, read> rel: array<Value>;
@group(0) @binding(1) var<storage, read> z0: array<Value>;
@group(0) @binding(2) var<storage, read_write> out: array<Value>;
@group(0) @binding(3) var<uniform> p: Params;
#if ${Z1}
@group(0) @binding(4) var<storage, read> z1: array<Value>;
#endif
#if ${Z2}
@group(0) @binding(5) var<storage, read> z2: array<Value>;
#endif
#if ${MASK}
@group(0) @binding(6) var<storage, read> mask: array<Value>;
#endif


@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var i = gid.x; i < p.count; i += groups.x * ${WG}u) {
    var z = z0[i];
#if ${Z1}
    z += z1[i];
#endif
#if ${Z2}
    z += z2[i];
#endif
    let stabilised = z + select(Value(${EPS}), Value(-${EPS}), z < Value(0.0));
    var s = ${SCALE} * rel[i] / stabilised;
#if ${MASK}
#if ${MASK_POSITIVE}
    s = select(Value(0.0), s, mask[i] > Value(0.0));
#else
    s = select(Value(0.0), s, mask[i] < Value(0.0));
#endif
#endif
    out[i] = s;
  }
}
