// Relevance / gradient message of DepthwiseConv2D, out[i] (+)= a[i] * sum_j W'[j][i] R[j]: the
// transposed convolution gathered per input value (no scatter, no atomics). Input channel c
// feeds only outputs c*MULT .. c*MULT + MULT-1. As in conv2d_transposed.wgsl, with strides the
// pixels of one phase (iy % SH, ix % SW) are reached by the same taps only: each thread serves
// one phase and loops over just its taps. As in depthwise_conv2d.wgsl, each thread owns a block
// of TY x TX pixels of its phase (SH and SW apart, so their outputs are neighbours) and, with VEC
// (MULT 1, channels a multiple of 4), four channels as one vec4; it loads its taps once and each
// row of R under the block once as a span of registers that all its pixels read. W' is W, or
// with PLUS max(W, 0) where a >= 0 and min(W, 0) where a < 0, so that a * W' = max(a * W, 0)
// (R-LRP+): two accumulators, chosen per value by the sign of a. ACCUMULATE adds to out (several
// consumers of one tensor).

//#include stream
//#include depthwise_block

@group(0) @binding(0) var<storage, read> rel: array<Value>;
@group(0) @binding(1) var<storage, read> weight: array<Value>;
@group(0) @binding(2) var<storage, read> act: array<Value>;
@group(0) @binding(3) var<storage, read_write> out: array<Value>;
@group(0) @binding(4) var<uniform> p: Params;

//#include nhwc_index

// Taps per phase at most (Keras allows dilation only with stride 1), and the rows and columns
// of R that a block of pixels reads through them.
const TAPS_Y = (KH + SH - 1u) / SH;
const TAPS_X = (KW + SW - 1u) / SW;
const ROWS = TY + (TAPS_Y - 1u) * DH;
const SPAN = TX + (TAPS_X - 1u) * DW;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = flat_index(gid, groups);
  if (index >= p.total) { return; }
  // The phase varies right after the channel, so that the blocks of all phases of one
  // neighbourhood run together and share the cache lines of a, out and R. Every phase gets as
  // many blocks as the first, which has the most rows and columns.
  let c = index % p.inVecs;
  let phase = (index / p.inVecs) % (SH * SW);
  let phaseY = phase / SW;
  let phaseX = phase % SW;
  let rest = index / p.inVecs / (SH * SW);
  let block = rest % p.xBlocks;
  let rowBlock = rest / p.xBlocks;
  let n = rowBlock / p.yBlocks;
  let iy0 = phaseY + (rowBlock % p.yBlocks) * TY * SH;
  let ix0 = phaseX + block * TX * SW;
  if (iy0 >= p.inH || ix0 >= p.inW) { return; }

  // Output o reads input o*stride + k*dil - pad, so pixel (j, i) of this block reaches output
  // (oy0 + j - v*DH, ox0 + i - u*DW) through the phase's tap (ky0 + v*SH, kx0 + u*SW).
  let ky0 = (phaseY + p.padTop) % SH;
  let kx0 = (phaseX + p.padLeft) % SW;
  let oy0 = (iy0 + p.padTop - ky0 * DH) / SH;
  let ox0 = (ix0 + p.padLeft - kx0 * DW) / SW;
  // Row q of R under the block is output row firstRow + q; span[s] holds output column firstCol + s.
  let firstRow = i32(oy0) - i32((TAPS_Y - 1u) * DH);
  let firstCol = i32(ox0) - i32((TAPS_X - 1u) * DW);
  // Where the kernel ends before a phase's last tap, the first rows / columns serve only that
  // missing tap: they are not loaded.
  let skipRows = (TAPS_Y - (KH + SH - 1u - ky0) / SH) * DH;
  let skipCols = (TAPS_X - (KW + SW - 1u - kx0) / SW) * DW;

  var acc: array<Value, TY * TX>;
#if ${PLUS}
  var accNeg: array<Value, TY * TX>;
#endif
  for (var m = 0u; m < MULT; m++) {
    let co = c * MULT + m;
    // The phase's taps, each loaded once (zero where the kernel ends first).
    var w: array<Value, TAPS_Y * TAPS_X>;
    for (var v = 0u; v < TAPS_Y; v++) {
      for (var u = 0u; u < TAPS_X; u++) {
        let ky = ky0 + v * SH;
        let kx = kx0 + u * SW;
        let inside = ky < KH && kx < KW;
        w[v * TAPS_X + u] = select(Value(), weight[select(0u, (ky * KW + kx) * p.outVecs + co, inside)], inside);
      }
    }
    for (var q = 0u; q < ROWS; q++) {
      // Unsigned comparison rejects negative rows too.
      let oy = u32(firstRow + i32(q));
      if (q < skipRows || oy >= p.outH) { continue; }
      let rowStart = (n * p.outH + oy) * p.outW;
      var span: array<Value, SPAN>;
      for (var s = 0u; s < SPAN; s++) {
        let ox = u32(firstCol + i32(s));
        let inside = s >= skipCols && ox < p.outW;
        span[s] = select(Value(), rel[select(0u, (rowStart + ox) * p.outVecs + co, inside)], inside);
      }
      // Pixel row j reads this row of R through the phase's v-th kernel row, j + (TAPS_Y-1-v)*DH = q.
      for (var j = 0u; j < TY; j++) {
        let d = i32(j + (TAPS_Y - 1u) * DH) - i32(q);
        if (d < 0 || d % i32(DH) != 0) { continue; }
        let v = u32(d) / DH;
        if (ky0 + v * SH >= KH) { continue; }
        for (var u = 0u; u < TAPS_X; u++) {
          if (kx0 + u * SW >= KW) { break; }
          let tap = w[v * TAPS_X + u];
#if ${PLUS}
          let wNeg = min(tap, Value());
          let wPos = tap - wNeg;
#else
          let wPos = tap;
#endif
          for (var i = 0u; i < TX; i++) {
            let r = span[i + (TAPS_X - 1u - u) * DW];
            acc[j * TX + i] = fma(r, wPos, acc[j * TX + i]);
#if ${PLUS}
            accNeg[j * TX + i] = fma(r, wNeg, accNeg[j * TX + i]);
#endif
          }
        }
      }
    }
  }

  for (var j = 0u; j < TY; j++) {
    let iy = iy0 + j * SH;
    if (iy >= p.inH) { break; }
    let pixelRow = (n * p.inH + iy) * p.inW;
    for (var i = 0u; i < TX; i++) {
      let ix = ix0 + i * SW;
      if (ix >= p.inW) { break; }
      let at = (pixelRow + ix) * p.inVecs + c;
      let a = act[at];
#if ${PLUS}
      let message = a * select(accNeg[j * TX + i], acc[j * TX + i], a >= Value());
#else
      let message = a * acc[j * TX + i];
#endif
#if ${ACCUMULATE}
      out[at] += message;
#else
      out[at] = message;
#endif
    }
  }
}
