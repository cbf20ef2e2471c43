// Conv2D and Dense as an implicit GEMM read straight from the NHWC input (no im2col buffer):
// out[row][col] = activation(bias[col] + sum_{ky,kx,c} in[window(row) + (ky,kx)][c] * W[ky][kx][c][col])
// with rows = output pixels of the batch and cols = output channels of this weight chunk.
// Each thread owns TM rows x TN columns and reads its operands directly from storage, with
// no workgroup tiles: on CPU adapters (one invocation per SIMD lane) barriers and the copy
// into shared memory cost more than the cache misses they save. Channels are read as vec4
// when VEC_IN (input channels, stride and offset multiples of 4) and the kernel's columns as
// vec4 when WEIGHT_VEC (chunk width a multiple of 4), so that one load serves four FMAs. F16: the
// kernel is stored in half precision and widened on load (accumulation stays f32). Workgroup z
// picks one product of a batch of them (Winograd's slots, as 1x1 convolutions): the slice
// strides offset src, kernel and output (zero for a plain convolution). SPLIT_K > 1 (GPUs, a
// product of few rows: dense layers on small batches) gives each output tile SPLIT_K threads,
// workgroup z, that take every SPLIT_K-th input vector of each tap and add up their sums in
// workgroup memory: a few hundred threads in all could not keep a GPU's memory busy.
#if ${F16}
enable f16;
#endif

struct Params {
  M: u32, N: u32, srcH: u32, srcW: u32,
  srcC: u32, gridH: u32, gridW: u32, KH: u32,
  KW: u32, strideH: u32, strideW: u32, dilH: u32,
  dilW: u32, padTop: u32, padLeft: u32, outStride: u32,
  outOffset: u32, srcSlice: u32, weightSlice: u32, outSlice: u32,
}

#if ${VEC_IN}
alias InVec = vec4<f32>;
const IN_WIDTH = 4u;
#else
alias InVec = f32;
const IN_WIDTH = 1u;
#endif
//#include weight_vec

@group(0) @binding(0) var<storage, read> src: array<InVec>;
@group(0) @binding(1) var<storage, read> weight: array<StoredWeight>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const TM = ${TM}u;
const TN = ${TN}u;
const COLS = TN / WEIGHT_WIDTH;

//#include activation_fn

fn lane(v: InVec, i: u32) -> f32 {
#if ${VEC_IN}
  return v[i];
#else
  return v;
#endif
}

fn component(v: WeightVec, j: u32) -> f32 {
#if ${WEIGHT_VEC}
  return v[j];
#else
  return v;
#endif
}

const SPLIT_K = ${SPLIT_K}u;
#if ${HAS_SPLIT_K}
alias SliceValue = WeightVec;
const SLICE_VALUES = TM * COLS;
//#include split_k_sum
#endif

@compute @workgroup_size(${WGN}, ${WGM}, ${SPLIT_K})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = (wid.y * ${WGM}u + lid.y) * TM;
  let col0 = (wid.x * ${WGN}u + lid.x) * TN;
  let colsVec = p.N / WEIGHT_WIDTH;
  let inVecs = p.srcC / IN_WIDTH;
  let srcBase = wid.z * p.srcSlice / IN_WIDTH;
  let weightBase = wid.z * p.weightSlice / WEIGHT_WIDTH;
  let outBase = wid.z * p.outSlice + p.outOffset;
  // Where each row's window starts. Rows past M repeat the last row; they are not stored.
  var sampleRow: array<u32, TM>;
  var cornerY: array<i32, TM>;
  var cornerX: array<i32, TM>;
  for (var i = 0u; i < TM; i++) {
    let row = min(row0 + i, p.M - 1u);
    let rest = row / p.gridW;
    sampleRow[i] = rest / p.gridH * p.srcH;
    cornerY[i] = i32((rest % p.gridH) * p.strideH) - i32(p.padTop);
    cornerX[i] = i32((row % p.gridW) * p.strideW) - i32(p.padLeft);
  }
  // Columns past N read the last column (in bounds); they are not stored either.
  var colAt: array<u32, COLS>;
  for (var j = 0u; j < COLS; j++) { colAt[j] = min(col0 / WEIGHT_WIDTH + j, colsVec - 1u); }

  var acc: array<WeightVec, TM * COLS>;
  for (var ky = 0u; ky < p.KH; ky++) {
    for (var kx = 0u; kx < p.KW; kx++) {
      var base: array<u32, TM>;
      var inside: array<bool, TM>;
      for (var i = 0u; i < TM; i++) {
        // Unsigned comparison rejects negative coordinates too.
        let y = u32(cornerY[i] + i32(ky * p.dilH));
        let x = u32(cornerX[i] + i32(kx * p.dilW));
        inside[i] = y < p.srcH && x < p.srcW;
        base[i] = select(0u, srcBase + ((sampleRow[i] + y) * p.srcW + x) * inVecs, inside[i]);
      }
      let tapRow = (ky * p.KW + kx) * p.srcC;
      for (var c = lid.z; c < inVecs; c += SPLIT_K) {
        var a: array<InVec, TM>;
        for (var i = 0u; i < TM; i++) { a[i] = select(InVec(), src[base[i] + c], inside[i]); }
        for (var l = 0u; l < IN_WIDTH; l++) {
          let wRow = weightBase + (tapRow + c * IN_WIDTH + l) * colsVec;
          for (var j = 0u; j < COLS; j++) {
            let b = WeightVec(weight[wRow + colAt[j]]);
            for (var i = 0u; i < TM; i++) { acc[i * COLS + j] = fma(WeightVec(lane(a[i], l)), b, acc[i * COLS + j]); }
          }
        }
      }
    }
  }

#if ${HAS_SPLIT_K}
  sumSlices(&acc, lid.y * ${WGN}u + lid.x, lid.z);
  if (lid.z != 0u) { return; }
#endif
  for (var i = 0u; i < TM; i++) {
    let row = row0 + i;
    if (row >= p.M) { break; }
    for (var j = 0u; j < TN; j++) {
      let col = col0 + j;
      if (col >= p.N) { break; }
      let sum = component(acc[i * COLS + j / WEIGHT_WIDTH], j % WEIGHT_WIDTH);
#if ${HAS_BIAS}
      output[outBase + row * p.outStride + col] = activate(sum + bias[p.outOffset + col]);
#else
      output[outBase + row * p.outStride + col] = activate(sum);
#endif
    }
  }
}
