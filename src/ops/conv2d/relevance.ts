import type { ConvNode, Shape } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import { spatial, WG } from '../types.js';
import type { ConvWeights } from './index.js';

/**
 * out (+)= a * (W'^T R) for Conv2D/Dense (W' = W, or its sign-matched part with `plus`), one
 * dispatch per weight chunk. `weights` may be a rule's modified copy; `accumulate` adds to out.
 */
export async function convMessage(res: GpuResources, node: ConvNode, weights: ConvWeights, inputShape: Shape, batch: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef }, plus: boolean, accumulate = false): Promise<Dispatch[]> {
  const [inH, inW, inC] = spatial(inputShape);
  const [outH, outW, outC] = spatial(node.shape);
  const total = batch * inH * inW * inC;
  const w = node.window;
  const dispatches: Dispatch[] = [];
  for (const [i, chunk] of weights.chunks.entries()) {
    const pipeline = await res.pipeline('relevance_conv2d', { WG, PLUS: plus, DEPTHWISE: false, ACCUMULATE: accumulate || i > 0 });
    const params = res.uniform([
      total, inH, inW, inC, outH, outW, outC, chunk.start, chunk.count, w.kernel[0], w.kernel[1], w.strides[0], w.strides[1], w.dilation[0], w.dilation[1], w.pads[0], w.pads[2],
    ], `${node.kerasName} relevance params`);
    dispatches.push({ label: `${node.kerasName} relevance`, pipeline, workgroups: res.grid(total, WG), bindGroup: res.bindGroup(pipeline, [io.rel, chunk.buffer, io.act, io.out, params], node.kerasName) });
  }
  return dispatches;
}
