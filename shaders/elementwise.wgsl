// Element-wise ops over a flat tensor: an activation, a per-channel affine map
// (BatchNormalization, Rescaling, Normalization), a two-operand Add, or accumulation of a
// further Add operand. Each ends in the (possibly fused) activation.

struct Params { total: u32, channels: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
#if ${AFFINE}
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read> shift: array<f32>;
#elif ${ADD}
@group(0) @binding(3) var<storage, read> other: array<f32>;
#endif

//#include activation_fn
//#include nhwc_index

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = flat_index(gid, groups);
  if (index >= p.total) { return; }
#if ${AFFINE}
  let c = index % p.channels;
  output[index] = activate(fma(input[index], scale[c], shift[c]));
#elif ${ADD}
  output[index] = activate(input[index] + other[index]);
#elif ${ACCUMULATE}
  output[index] = activate(output[index] + input[index]);
#else
  output[index] = activate(input[index]);
#endif
}
