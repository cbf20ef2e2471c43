import type { PoolNode } from '../../graph/ir.js';
import { spatial, WG, type ForwardOp } from '../types.js';

export const poolOp: ForwardOp<PoolNode> = {
  fusesActivation: false,
  async record({ res, node, inputs, inputShapes, output, batch }) {
    const [inH, inW, c] = spatial(inputShapes[0]);
    const [outH, outW] = node.global ? [1, 1] : spatial(node.shape);
    const total = batch * outH * outW * c;
    const w = node.window;
    const pipeline = await res.pipeline('pool2d', { WG, MAX: node.mode === 'max', ARGMAX: false });
    const params = res.uniform([total, inH, inW, c, outH, outW, w.kernel[0], w.kernel[1], w.strides[0], w.strides[1], w.pads[0], w.pads[2]], `${node.kerasName} params`);
    return [{ label: node.kerasName, pipeline, workgroups: res.grid(total, WG), bindGroup: res.bindGroup(pipeline, [inputs[0], output, params], node.kerasName) }];
  },
};
