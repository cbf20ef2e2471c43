// SPLIT_K threads per output tile (workgroup z) each hold a share of the tile's sums; sumSlices
// adds them up in workgroup memory. The including kernel defines SliceValue (its accumulators'
// type) and SLICE_VALUES (accumulators per thread). Call it from uniform control flow.
var<workgroup> sliceSums: array<SliceValue, ${WGN} * ${WGM} * ${SPLIT_K} * SLICE_VALUES>;

// Thread k = 0 of each tile gets the sum of its SPLIT_K threads' `part` (the others keep partial
// sums). Slice k's values at (tile, k), tile-major, so k = 0 adds up a contiguous run in order;
// the last barrier lets the next call reuse the shared array.
fn sumSlices(part: ptr<function, array<SliceValue, SLICE_VALUES>>, tile: u32, k: u32) {
  for (var e = 0u; e < SLICE_VALUES; e++) { sliceSums[(tile * SPLIT_K + k) * SLICE_VALUES + e] = (*part)[e]; }
  workgroupBarrier();
  if (k == 0u) {
    for (var other = 1u; other < SPLIT_K; other++) {
      for (var e = 0u; e < SLICE_VALUES; e++) { (*part)[e] += sliceSums[(tile * SPLIT_K + other) * SLICE_VALUES + e]; }
    }
  }
  workgroupBarrier();
}
