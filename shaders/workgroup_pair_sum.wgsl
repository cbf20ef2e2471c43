// The (sum |x|, sum x) pairs of a workgroup's threads added up in a fixed order, so results are
// deterministic; every thread gets the total. Call it from uniform control flow (it has
// barriers); the last barrier lets the next call reuse the shared array.
var<workgroup> threadPairs: array<vec2<f32>, ${WG}>;

fn workgroupPairSum(lid: u32, own: vec2<f32>) -> vec2<f32> {
  threadPairs[lid] = own;
  workgroupBarrier();
  for (var width = ${WG}u / 2u; width > 0u; width /= 2u) {
    if (lid < width) { threadPairs[lid] += threadPairs[lid + width]; }
    workgroupBarrier();
  }
  let total = threadPairs[0];
  workgroupBarrier();
  return total;
}
