// The symmetric normalisation scale of one sample's heatmap, in one workgroup: the largest
// |sum over channels| of its NHWC relevance (1 where every sum is 0, so the map is all centre).

struct Params { pixels: u32, channels: u32, offset: u32, _pad0: u32 }

@group(0) @binding(0) var<storage, read> relevance: array<f32>;
@group(0) @binding(1) var<storage, read_write> scale: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> partial: array<f32, ${WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var largest = 0.0;
  for (var i = lid; i < p.pixels; i += ${WG}u) {
    var sum = 0.0;
    for (var c = 0u; c < p.channels; c++) {
      sum += relevance[p.offset + i * p.channels + c];
    }
    largest = max(largest, abs(sum));
  }
  partial[lid] = largest;
  workgroupBarrier();
  for (var width = ${WG}u / 2u; width > 0u; width /= 2u) {
    if (lid < width) {
      partial[lid] = max(partial[lid], partial[lid + width]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    scale[0] = select(partial[0], 1.0, partial[0] == 0.0);
  }
}
