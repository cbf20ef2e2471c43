// DepthwiseConv2D: output channel c*MULT + m reads only input channel c.
// out[n][y][x][co] = activation(bias[co] + sum_{ky,kx} in[n][y*SH + ky*DH - padTop][x*SW + kx*DW - padLeft][co / MULT] * W[ky][kx][co])
// Each thread owns a block of TY x TX neighbouring outputs and, with VEC (MULT 1, channels a
// multiple of 4), four channels as one vec4 (input, weights and output read as vec4). It loads
// its weights once, then each input row under its windows once as a span of registers that all
// its outputs on that row read: on lavapipe these kernels are bound by loads (per-lane gathers),
// so one load must serve several FMAs. Window, strides and dilation are constants, so every
// loop unrolls and the register arrays stay registers.

//#include stream
//#include depthwise_block

@group(0) @binding(0) var<storage, read> input: array<Value>;
@group(0) @binding(1) var<storage, read> weight: array<Value>;
@group(0) @binding(2) var<storage, read> bias: array<Value>;
@group(0) @binding(3) var<storage, read_write> output: array<Value>;
@group(0) @binding(4) var<uniform> p: Params;

//#include activate_value
//#include nhwc_index

// Input columns under TX windows that start SW apart.
const SPAN = (TX - 1u) * SW + (KW - 1u) * DW + 1u;
// Input rows under TY windows that start SH apart.
const ROWS = (TY - 1u) * SH + (KH - 1u) * DH + 1u;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = flat_index(gid, groups);
  if (index >= p.total) { return; }
  // Channels vary fastest across threads, so neighbouring lanes read neighbouring memory.
  let co = index % p.outVecs;
  let rest = index / p.outVecs;
  let ox0 = (rest % p.xBlocks) * TX;
  let rowBlock = rest / p.xBlocks;
  let n = rowBlock / p.yBlocks;
  let oy0 = (rowBlock % p.yBlocks) * TY;
  let ci = co / MULT;
  let x0 = i32(ox0 * SW) - i32(p.padLeft);

  var w: array<Value, KH * KW>;
  for (var t = 0u; t < KH * KW; t++) { w[t] = weight[t * p.outVecs + co]; }
  var acc: array<Value, TY * TX>;
  for (var r = 0u; r < ROWS; r++) {
    // Unsigned comparison rejects rows above the input too.
    let iy = oy0 * SH + r - p.padTop;
    if (iy >= p.inH) { continue; }
    let rowStart = (n * p.inH + iy) * p.inW;
    var span: array<Value, SPAN>;
    for (var s = 0u; s < SPAN; s++) {
      let ix = u32(x0 + i32(s));
      let inside = ix < p.inW;
      span[s] = select(Value(), input[select(0u, (rowStart + ix) * p.inVecs + ci, inside)], inside);
    }
    // Output row j reads this input row through kernel row ky where j*SH + ky*DH = r.
    for (var j = 0u; j < TY; j++) {
      let d = i32(r) - i32(j * SH);
      if (d < 0 || d % i32(DH) != 0 || d >= i32(KH * DH)) { continue; }
      let ky = u32(d) / DH;
      for (var kx = 0u; kx < KW; kx++) {
        for (var i = 0u; i < TX; i++) { acc[j * TX + i] = fma(span[i * SW + kx * DW], w[ky * KW + kx], acc[j * TX + i]); }
      }
    }
  }

#if ${HAS_BIAS}
  let b = bias[co];
#else
  let b = Value();
#endif
  for (var j = 0u; j < TY; j++) {
    let oy = oy0 + j;
    if (oy >= p.outH) { break; }
    let outRow = (n * p.outH + oy) * p.outW;
    for (var i = 0u; i < TX; i++) {
      let ox = ox0 + i;
      if (ox >= p.outW) { break; }
      output[(outRow + ox) * p.outVecs + co] = activateValue(acc[j * TX + i] + b);
    }
  }
}
