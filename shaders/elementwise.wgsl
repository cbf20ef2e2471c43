// Element-wise ops over a flat tensor: an activation, a per-channel affine map
// (BatchNormalization, Rescaling, Normalization), a two-operand Add, or accumulation of a
// further Add operand. Each ends in the (possibly fused) activation. Counts are in Values.

struct Params { count: u32, channels: u32, _pad0: u32, _pad1: u32 }

//#include stream

@group(0) @binding(0) var<storage, read> input: array<Value>;
@group(0) @binding(1) var<storage, read_write> output: array<Value>;
@group(0) @binding(2) var<uniform> p: Params;
#if ${AFFINE}
@group(0) @binding(3) var<storage, read> scale: array<Value>;
@group(0) @binding(4) var<storage, read> shift: array<Value>;
#elif ${ADD}
@group(0) @binding(3) var<storage, read> other: array<Value>;
#endif

//#include activate_value

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var i = gid.x; i < p.count; i += groups.x * ${WG}u) {
#if ${AFFINE}
    let c = i % p.channels;
    output[i] = activateValue(fma(input[i], scale[c], shift[c]));
#elif ${ADD}
    output[i] = activateValue(input[i] + other[i]);
#elif ${ACCUMULATE}
    output[i] = activateValue(output[i] + input[i]);
#else
    output[i] = activateValue(input[i]);
#endif
  }
}
