import type { DepthwiseNode } from '../../graph/ir.js';
import { activationDefines, type Defines } from '../../gpu/shaders.js';
import { spatial, WG, type ForwardOp } from '../types.js';

export interface DepthwiseWeights { kernel: GPUBuffer; bias?: GPUBuffer }

/**
 * Defines shared by the depthwise kernels: the window as constants (so their loops unroll), the
 * block of TY x TX pixels each thread owns (2 x 4 was the fastest on lavapipe for MobileNet's
 * layers, forward and message alike; larger blocks spill the R-LRP+ accumulators), and VEC
 * (channels as vec4) where each output channel has its own input channel and channels come in fours.
 */
export function depthwiseDefines(node: DepthwiseNode): Defines & { VEC: boolean; TX: number; TY: number } {
  const w = node.window;
  return {
    WG, TX: 4, TY: 2, VEC: node.multiplier === 1 && node.inChannels % 4 === 0, MULT: node.multiplier,
    KH: w.kernel[0], KW: w.kernel[1], SH: w.strides[0], SW: w.strides[1], DH: w.dilation[0], DW: w.dilation[1],
  };
}

export const depthwiseOp: ForwardOp<DepthwiseNode, DepthwiseWeights> = {
  fusesActivation: true,
  upload: (res, node) => ({
    kernel: res.constants(node.kernel.values(), `${node.kerasName} kernel`),
    bias: node.bias ? res.constants(node.bias, `${node.kerasName} bias`) : undefined,
  }),
  async record({ res, node, inputs, inputShapes, output, batch, activation, weights }) {
    const [inH, inW, inC] = spatial(inputShapes[0]);
    const [outH, outW, outC] = spatial(node.shape);
    const defines = depthwiseDefines(node);
    const width = defines.VEC ? 4 : 1;
    const xBlocks = Math.ceil(outW / defines.TX);
    const yBlocks = Math.ceil(outH / defines.TY);
    const total = batch * yBlocks * xBlocks * (outC / width);
    const w = node.window;
    const pipeline = await res.pipeline('depthwise_conv2d', { ...defines, HAS_BIAS: !!weights.bias, ...activationDefines(activation) });
    const params = res.uniform([total, inH, inW, inC / width, outH, outW, outC / width, xBlocks, yBlocks, w.pads[0], w.pads[2]], `${node.kerasName} params`);
    return [{
      label: node.kerasName, pipeline, workgroups: res.grid(total, WG),
      bindGroup: res.bindGroup(pipeline, [inputs[0], weights.kernel, weights.bias, output, params], node.kerasName),
    }];
  },
};
