// Conv2D and Dense as an implicit GEMM: C[M][N] = A[M][K] * B[K][N] with
// M = batch*outH*outW output pixels, K = KH*KW*Cin, N = output channels of this weight chunk.
// A is read straight from the NHWC input (no im2col buffer); B is the Keras kernel layout.
// Each thread owns a TM x TN block of C, interleaved across the workgroup so that
// neighbouring invocations touch neighbouring addresses.

struct Params {
  M: u32, N: u32, K: u32, inH: u32,
  inW: u32, inC: u32, outH: u32, outW: u32,
  KW: u32, strideH: u32, strideW: u32, dilH: u32,
  dilW: u32, padTop: u32, padLeft: u32, outStride: u32,
  outOffset: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const TM = ${TM}u;
const TN = ${TN}u;
const WGM = ${WGM}u;
const WGN = ${WGN}u;
const BK = ${BK}u;
const BM = TM * WGM;
const BN = TN * WGN;
const THREADS = WGM * WGN;

var<workgroup> tileA: array<f32, BK * BM>;
var<workgroup> tileB: array<f32, BK * BN>;

//#include activation_fn

fn loadA(row: u32, k: u32) -> f32 {
  if (row >= p.M || k >= p.K) { return 0.0; }
  let ox = row % p.outW;
  let rest = row / p.outW;
  let oy = rest % p.outH;
  let n = rest / p.outH;
  let c = k % p.inC;
  let kk = k / p.inC;
  let kx = kk % p.KW;
  let ky = kk / p.KW;
  // Unsigned wrap-around makes negative coordinates fail the bounds test too.
  let iy = oy * p.strideH + ky * p.dilH - p.padTop;
  let ix = ox * p.strideW + kx * p.dilW - p.padLeft;
  if (iy >= p.inH || ix >= p.inW) { return 0.0; }
  return input[((n * p.inH + iy) * p.inW + ix) * p.inC + c];
}

@compute @workgroup_size(WGN, WGM, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  var acc: array<f32, TM * TN>;
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    for (var e = lidx; e < BM * BK; e += THREADS) {
      tileA[(e % BK) * BM + e / BK] = loadA(row0 + e / BK, k0 + e % BK);
    }
    for (var e = lidx; e < BK * BN; e += THREADS) {
      let k = k0 + e / BN;
      let col = col0 + e % BN;
      tileB[e] = select(0.0, weight[k * p.N + col], k < p.K && col < p.N);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<f32, TM>;
      for (var i = 0u; i < TM; i++) { a[i] = tileA[kk * BM + lid.y + i * WGM]; }
      for (var j = 0u; j < TN; j++) {
        let b = tileB[kk * BN + lid.x + j * WGN];
        for (var i = 0u; i < TM; i++) { acc[i * TN + j] = fma(a[i], b, acc[i * TN + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let row = row0 + lid.y + i * WGM;
    if (row >= p.M) { continue; }
    for (var j = 0u; j < TN; j++) {
      let col = col0 + lid.x + j * WGN;
      if (col >= p.N) { continue; }
#if ${HAS_BIAS}
      let z = acc[i * TN + j] + bias[p.outOffset + col];
#else
      let z = acc[i * TN + j];
#endif
      output[row * p.outStride + p.outOffset + col] = activate(z);
    }
  }
}
