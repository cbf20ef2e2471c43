// What the two depthwise kernels (depthwise_conv2d.wgsl, relevance_depthwise.wgsl) share: their
// parameters (sizes in Values: four channels with VEC) and the constants they unroll over, a
// block of TY x TX pixels per thread and the layer's window, strides, dilation and multiplier.

struct Params {
  total: u32, inH: u32, inW: u32, inVecs: u32,
  outH: u32, outW: u32, outVecs: u32, xBlocks: u32,
  yBlocks: u32, padTop: u32, padLeft: u32, _pad0: u32,
}

const TX = ${TX}u;
const TY = ${TY}u;
const KH = ${KH}u;
const KW = ${KW}u;
const SH = ${SH}u;
const SW = ${SW}u;
const DH = ${DH}u;
const DW = ${DW}u;
const MULT = ${MULT}u;
