// R-LRP's relative rescale, accumulated into the input's relevance:
// out += raw * |R_out|_1 / |raw|_1 per sample (0 where |raw|_1 is 0). The L1 norms come from
// l1_norm.wgsl; for an Add, |raw|_1 is the sum over all operands (a joint rescale).

struct Params { perSample: u32, slots: u32, outSlot: u32, rawSlot: u32 }

@group(0) @binding(0) var<storage, read> raw: array<f32>;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// Workgroup row y is sample n and the x range strides over its values, so no thread divides
// by perSample (integer division is emulated per lane on CPU adapters).
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let n = gid.y;
  let wanted = stats[(n * p.slots + p.outSlot) * 2u];
  let mass = stats[(n * p.slots + p.rawSlot) * 2u];
  // raw / mass is at most 1 in size, so this cannot overflow even for denormal masses.
  let base = n * p.perSample;
  for (var i = gid.x; i < p.perSample; i += groups.x * ${WG}u) {
    out[base + i] += select((raw[base + i] / mass) * wanted, 0.0, mass == 0.0);
  }
}
