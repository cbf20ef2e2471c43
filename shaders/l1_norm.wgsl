// Per-sample sums of a batch-first tensor (perSample counts Values; PAIRS reads scalars) into
// slot `slot` of sample n's stats row:
// stats[(n * slots + slot) * 2] = sum |x|, stats[(n * slots + slot) * 2 + 1] = sum x.
// Workgroup row y is sample n. Large tensors reduce in two steps so both cores of a CPU
// adapter work: PARTIAL has `parts` workgroups per sample write (sum |x|, sum x) of a strided
// share into out[(base + n * parts + part) * 2 ..]; PAIRS then adds those pairs up per sample (or
// relative_rescale.wgsl does, for R-LRP's messages). A fixed reduction order keeps results deterministic.

struct Params { perSample: u32, slots: u32, slot: u32, base: u32 }

//#include stream

#if ${PAIRS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
#else
@group(0) @binding(0) var<storage, read> x: array<Value>;
#endif
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

//#include workgroup_pair_sum

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let n = wid.y;
  var own = vec2(0.0);
  for (var i = wid.x * ${WG}u + lid; i < p.perSample; i += groups.x * ${WG}u) {
#if ${PAIRS}
    own += vec2(x[(n * p.perSample + i) * 2u], x[(n * p.perSample + i) * 2u + 1u]);
#else
    let v = x[n * p.perSample + i];
    own += normPair(v);
#endif
  }
  let total = workgroupPairSum(lid, own);
  if (lid == 0u) {
#if ${PARTIAL}
    let at = (p.base + n * groups.x + wid.x) * 2u;
#else
    let at = (n * p.slots + p.slot) * 2u;
#endif
#if ${ACCUMULATE}
    out[at] += total.x;
    out[at + 1u] += total.y;
#else
    out[at] = total.x;
    out[at + 1u] = total.y;
#endif
  }
}
