// Per-sample sums of a batch-first tensor into slot `slot` of sample n's stats row:
// stats[(n * slots + slot) * 2] = sum |x|, stats[(n * slots + slot) * 2 + 1] = sum x.
// One workgroup per sample; a fixed reduction order keeps results deterministic.

struct Params { perSample: u32, slots: u32, slot: u32, _pad0: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> partialAbs: array<f32, ${WG}>;
var<workgroup> partialSum: array<f32, ${WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let n = wid.x;
  var sumAbs = 0.0;
  var sum = 0.0;
  for (var i = lid; i < p.perSample; i += ${WG}u) {
    let v = x[n * p.perSample + i];
    sumAbs += abs(v);
    sum += v;
  }
  partialAbs[lid] = sumAbs;
  partialSum[lid] = sum;
  workgroupBarrier();
  for (var width = ${WG}u / 2u; width > 0u; width /= 2u) {
    if (lid < width) {
      partialAbs[lid] += partialAbs[lid + width];
      partialSum[lid] += partialSum[lid + width];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let at = (n * p.slots + p.slot) * 2u;
#if ${ACCUMULATE}
    stats[at] += partialAbs[0];
    stats[at + 1u] += partialSum[0];
#else
    stats[at] = partialAbs[0];
    stats[at + 1u] = partialSum[0];
#endif
  }
}
