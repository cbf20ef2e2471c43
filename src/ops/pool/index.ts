import type { PoolNode, Shape } from '../../graph/ir.js';
import type { StreamShape } from '../../gpu/resources.js';
import { spatial, type ForwardOp } from '../types.js';

/** pool2d.wgsl's and relevance_pool.wgsl's parameters, for a stream over `stream.units` Values. */
export function windowParams(node: PoolNode, inputShape: Shape, stream: StreamShape): number[] {
  const [inH, inW, c] = spatial(inputShape);
  const [outH, outW] = node.global ? [1, 1] : spatial(node.shape);
  const w = node.window;
  return [stream.units, inH, inW, stream.defines.VEC ? c / 4 : c, outH, outW, w.kernel[0], w.kernel[1], w.strides[0], w.strides[1], w.pads[0], w.pads[2]];
}

/** Values a pooling layer writes for a batch (global pooling: one per channel). */
export function pooledValues(node: PoolNode, inputShape: Shape, batch: number): number {
  const [outH, outW] = node.global ? [1, 1] : spatial(node.shape);
  return batch * outH * outW * spatial(inputShape)[2];
}

export const poolOp: ForwardOp<PoolNode> = {
  fusesActivation: false,
  async record({ res, node, inputs, inputShapes, output, batch, winners }) {
    const stream = res.stream(pooledValues(node, inputShapes[0], batch), spatial(inputShapes[0])[2] % 4 === 0);
    const pipeline = await res.pipeline('pool2d', { ...stream.defines, MAX: node.mode === 'max', WINNERS: !!winners });
    const params = res.uniform(windowParams(node, inputShapes[0], stream), `${node.kerasName} params`);
    return [{ label: node.kerasName, pipeline, workgroups: stream.workgroups, bindGroup: res.bindGroup(pipeline, [inputs[0], output, params, winners], node.kerasName) }];
  },
};
