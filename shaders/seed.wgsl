// Seeds the relevance pass: R = one-hot of the target class on the logits, per sample
// (target_class.wgsl picks it). The seed's per-sample (sum |R|, sum R) = (1, 1) go into its
// stats slot, so that no norm pass has to find them.

struct Params { batch: u32, classes: u32, slots: u32, slot: u32 }

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> seed: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

//#include target_class

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  if (n >= p.batch) { return; }
  let t = targetClass(n, p.classes);
  for (var c = 0u; c < p.classes; c++) {
    seed[n * p.classes + c] = select(0.0, 1.0, t == c);
  }
  stats[(n * p.slots + p.slot) * 2u] = 1.0;
  stats[(n * p.slots + p.slot) * 2u + 1u] = 1.0;
}
