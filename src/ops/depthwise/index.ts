import type { DepthwiseNode } from '../../graph/ir.js';
import { activationDefines } from '../../gpu/shaders.js';
import { spatial, WG, type ForwardOp } from '../types.js';

export interface DepthwiseWeights { kernel: GPUBuffer; bias?: GPUBuffer }

export const depthwiseOp: ForwardOp<DepthwiseNode, DepthwiseWeights> = {
  fusesActivation: true,
  upload: (res, node) => ({
    kernel: res.constants(node.kernel, `${node.kerasName} kernel`),
    bias: node.bias ? res.constants(node.bias, `${node.kerasName} bias`) : undefined,
  }),
  async record({ res, node, inputs, inputShapes, output, batch, activation, weights }) {
    const [inH, inW, inC] = spatial(inputShapes[0]);
    const [outH, outW, outC] = spatial(node.shape);
    const total = batch * outH * outW * outC;
    const w = node.window;
    const pipeline = await res.pipeline('depthwise_conv2d', { WG, HAS_BIAS: !!weights.bias, ...activationDefines(activation) });
    const params = res.uniform([total, inH, inW, inC, outH, outW, w.kernel[0], w.kernel[1], w.strides[0], w.strides[1], w.dilation[0], w.dilation[1], w.pads[0], w.pads[2], node.multiplier], `${node.kerasName} params`);
    return [{
      label: node.kerasName, pipeline, workgroups: res.grid(total, WG),
      bindGroup: res.bindGroup(pipeline, [inputs[0], weights.kernel, weights.bias, output, params], node.kerasName),
    }];
  },
};
