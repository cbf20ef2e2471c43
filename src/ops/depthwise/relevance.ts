import type { DepthwiseNode, Shape } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import { spatial, WG } from '../types.js';
import type { DepthwiseWeights } from './index.js';

/** out (+)= a * (W'^T R) for DepthwiseConv2D (`weights` may be a rule's modified copy). */
export async function depthwiseMessage(res: GpuResources, node: DepthwiseNode, weights: DepthwiseWeights, inputShape: Shape, batch: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef }, plus: boolean, accumulate = false): Promise<Dispatch> {
  const [inH, inW, inC] = spatial(inputShape);
  const [outH, outW, outC] = spatial(node.shape);
  const total = batch * inH * inW * inC;
  const w = node.window;
  const pipeline = await res.pipeline('relevance_depthwise', { WG, PLUS: plus, ACCUMULATE: accumulate });
  const params = res.uniform([
    total, inH, inW, inC, outH, outW, outC, node.multiplier, w.kernel[0], w.kernel[1], w.strides[0], w.strides[1], w.dilation[0], w.dilation[1], w.pads[0], w.pads[2],
  ], `${node.kerasName} relevance params`);
  return { label: `${node.kerasName} relevance`, pipeline, workgroups: res.grid(total, WG), bindGroup: res.bindGroup(pipeline, [io.rel, weights.kernel, io.act, io.out, params], node.kerasName) };
}
