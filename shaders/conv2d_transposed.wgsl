// The relevance / gradient message of Conv2D and Dense, out[i] (+)= a[i] * sum_j W'[j][i] R[j],
// as an implicit GEMM gathered per input value (no scatter, no atomics):
// rows = input pixels of the batch, cols = input channels, and the sum runs over the taps
// (ky, kx) and the output channels of this weight chunk, read from the outputs whose windows
// hold the pixel. Both operands are contiguous along output channels (R in NHWC, the Keras
// kernel [ky][kx][c_in][c_out]), so with WEIGHT_VEC (chunk width, R's stride and offset multiples of
// 4) each step is a vec4 dot product. As in conv2d.wgsl, each thread owns TM x TN outputs and
// reads storage directly. With strides, pixels of one phase (iy % SH, ix % SW) are reached by
// the same taps only, so each phase is its own slice of the grid (workgroup_id.z) and loops
// over just its taps: no work on taps that miss, and none on phases that no tap reaches (a
// kernel smaller than its stride), which ALL_PHASES gives slices that store zeros (instead of a
// clearing pass before). W' is W, or with PLUS max(W, 0) where a >= 0 and min(W, 0) where
// a < 0, so that a * W' = max(a * W, 0) (R-LRP+). ACCUMULATE adds to out (later weight chunks,
// several consumers of one tensor). F16: the kernel is stored in half precision. Without
// TIMES_ACT the plain product W'^T R is stored (Winograd's slot products, as 1x1 convolutions
// whose slices follow the phases in workgroup z, offset by the slice strides). SPLIT_K > 1
// (GPUs, few rows: dense layers on small batches) gives each output tile SPLIT_K threads that
// take every SPLIT_K-th vector of the sum and add up their shares in workgroup memory.
#if ${F16}
enable f16;
#endif

struct Params {
  batch: u32, N: u32, srcH: u32, srcW: u32,
  count: u32, gridH: u32, gridW: u32, KH: u32,
  KW: u32, dilH: u32, dilW: u32, padTop: u32,
  padLeft: u32, relStride: u32, relOffset: u32, relSlice: u32,
  weightSlice: u32, outSlice: u32, _pad0: u32, _pad1: u32,
}

//#include weight_vec

@group(0) @binding(0) var<storage, read> rel: array<WeightVec>;
@group(0) @binding(1) var<storage, read> weight: array<StoredWeight>;
#if ${TIMES_ACT}
@group(0) @binding(2) var<storage, read> act: array<f32>;
#endif
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const TM = ${TM}u;
const TN = ${TN}u;

fn dot4(a: WeightVec, b: WeightVec) -> f32 {
#if ${WEIGHT_VEC}
  return dot(a, b);
#else
  return a * b;
#endif
}

const SPLIT_K = ${SPLIT_K}u;
#if ${HAS_SPLIT_K}
alias SliceValue = f32;
const SLICE_VALUES = TM * TN;
//#include split_k_sum
#endif

@compute @workgroup_size(${WGN}, ${WGM}, ${SPLIT_K})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // Slice z is one residue pair (ry, rx) below min(K, stride): the phase (ry - pad) mod stride
  // is reached by taps ry, ry + stride, ... (Keras allows dilation only with stride 1). Phases
  // that no tap reaches (a kernel smaller than its stride) get no slice, or with ALL_PHASES
  // (residues up to the stride) one that stores zeros.
#if ${ALL_PHASES}
  let taps = vec2<u32>(${SH}u, ${SW}u);
#else
  let taps = vec2<u32>(min(p.KH, ${SH}u), min(p.KW, ${SW}u));
#endif
  let phase = wid.z % (taps.x * taps.y);
  let product = wid.z / (taps.x * taps.y);
  let ry = phase / taps.y;
  let rx = phase % taps.y;
  let relBase = product * p.relSlice / WEIGHT_WIDTH;
  let weightBase = product * p.weightSlice / WEIGHT_WIDTH;
  let outBase = product * p.outSlice;
  let phaseY = (ry + ${SH}u - p.padTop % ${SH}u) % ${SH}u;
  let phaseX = (rx + ${SW}u - p.padLeft % ${SW}u) % ${SW}u;
  // This phase's pixels: iy = phaseY + SH * t for t < phaseH (0 when the phase lies outside).
  let phaseH = (p.gridH + ${SH} - 1u - phaseY) / ${SH};
  let phaseW = (p.gridW + ${SW} - 1u - phaseX) / ${SW};
  let M = p.batch * phaseH * phaseW;
  let row0 = (wid.y * ${WGM}u + lid.y) * TM;
  let col0 = (wid.x * ${WGN}u + lid.x) * TN;
#if ${HAS_SPLIT_K}
  // Only whole workgroups past M leave: the others' threads all reach the barriers.
  if (wid.y * ${WGM}u * TM >= M) { return; }
#else
  if (row0 >= M) { return; }
#endif
  let vecs = p.count / WEIGHT_WIDTH;
  // Rows past M repeat the last row and columns past N the last column; neither is stored.
  var sampleRow: array<u32, TM>;
  var pixel: array<u32, TM>;
  var pixelY: array<i32, TM>;
  var pixelX: array<i32, TM>;
  for (var i = 0u; i < TM; i++) {
    let row = min(row0 + i, M - 1u);
    let rest = row / phaseW;
    let n = rest / phaseH;
    let iy = phaseY + (rest % phaseH) * ${SH};
    let ix = phaseX + (row % phaseW) * ${SW};
    sampleRow[i] = n * p.srcH;
    pixel[i] = (n * p.gridH + iy) * p.gridW + ix;
    pixelY[i] = i32(iy + p.padTop);
    pixelX[i] = i32(ix + p.padLeft);
  }
#if ${ALL_PHASES}
  // A phase no tap reaches: its pixels' zeros, whatever a is (not even read). Its whole
  // workgroup takes this branch, so none of its threads reach the split sums' barriers.
  if (ry >= p.KH || rx >= p.KW) {
    for (var i = 0u; i < TM; i++) {
      if (row0 + i >= M) { break; }
      for (var j = 0u; j < TN; j++) {
        if (col0 + j >= p.N) { break; }
        out[outBase + pixel[i] * p.N + col0 + j] = 0.0;
      }
    }
    return;
  }
#endif
  var col: array<u32, TN>;
  for (var j = 0u; j < TN; j++) { col[j] = min(col0 + j, p.N - 1u); }

  var acc: array<f32, TM * TN>;
#if ${PLUS}
  var accNeg: array<f32, TM * TN>;
#endif
  // Output pixel o reads input o*stride + k*dil - pad: this phase's taps are k = r, r + stride, ...
  for (var ky = ry; ky < p.KH; ky += ${SH}u) {
    for (var kx = rx; kx < p.KW; kx += ${SW}u) {
      var base: array<u32, TM>;
      var hit: array<bool, TM>;
      var anyHit = false;
      for (var i = 0u; i < TM; i++) {
        let ty = pixelY[i] - i32(ky * p.dilH);
        let tx = pixelX[i] - i32(kx * p.dilW);
        let oy = u32(ty) / ${SH};
        let ox = u32(tx) / ${SW};
        hit[i] = ty >= 0 && tx >= 0 && oy < p.srcH && ox < p.srcW;
        anyHit = anyHit || hit[i];
        base[i] = select(0u, relBase + (((sampleRow[i] + oy) * p.srcW + ox) * p.relStride + p.relOffset) / WEIGHT_WIDTH, hit[i]);
      }
      // A tap that misses every row of this tile (image borders) costs only its bounds checks:
      // fashion_cnn's 'valid' conv2 relevance, 27% of whose taps miss, took 15% less.
      if (!anyHit) { continue; }
      let tap = (ky * p.KW + kx) * p.N;
      for (var c = lid.z; c < vecs; c += SPLIT_K) {
        var r: array<WeightVec, TM>;
        for (var i = 0u; i < TM; i++) { r[i] = select(WeightVec(), rel[base[i] + c], hit[i]); }
        for (var j = 0u; j < TN; j++) {
          let w = WeightVec(weight[weightBase + (tap + col[j]) * vecs + c]);
#if ${PLUS}
          let wNeg = min(w, WeightVec());
          let wPos = w - wNeg;
#else
          let wPos = w;
#endif
          for (var i = 0u; i < TM; i++) {
            acc[i * TN + j] += dot4(r[i], wPos);
#if ${PLUS}
            accNeg[i * TN + j] += dot4(r[i], wNeg);
#endif
          }
        }
      }
    }
  }

#if ${HAS_SPLIT_K}
  let tile = lid.y * ${WGN}u + lid.x;
  sumSlices(&acc, tile, lid.z);
#if ${PLUS}
  sumSlices(&accNeg, tile, lid.z);
#endif
  if (lid.z != 0u) { return; }
#endif
  for (var i = 0u; i < TM; i++) {
    if (row0 + i >= M) { break; }
    for (var j = 0u; j < TN; j++) {
      if (col0 + j >= p.N) { break; }
      let at = outBase + pixel[i] * p.N + col0 + j;
#if ${TIMES_ACT}
      let a = act[at];
#if ${PLUS}
      let message = a * select(accNeg[i * TN + j], acc[i * TN + j], a >= 0.0);
#else
      let message = a * acc[i * TN + j];
#endif
#else
      let message = acc[i * TN + j];
#endif
#if ${ACCUMULATE}
      out[at] += message;
#else
      out[at] = message;
#endif
    }
  }
}
