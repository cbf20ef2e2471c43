import type { DepthwiseNode, Shape } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import { spatial, WG } from '../types.js';
import { depthwiseDefines, type DepthwiseWeights } from './index.js';

/**
 * out (+)= a * (W'^T R) for DepthwiseConv2D (W' = W, or its sign-matched part with `plus`):
 * relevance_depthwise.wgsl, one thread per block of pixels of one stride phase. `weights` may
 * be a rule's modified copy; `accumulate` adds to out.
 */
export async function depthwiseMessage(res: GpuResources, node: DepthwiseNode, weights: DepthwiseWeights, inputShape: Shape, batch: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef }, plus: boolean, accumulate = false): Promise<Dispatch> {
  const [inH, inW, inC] = spatial(inputShape);
  const [outH, outW, outC] = spatial(node.shape);
  const w = node.window;
  const [sh, sw] = w.strides;
  const defines = depthwiseDefines(node);
  const width = defines.VEC ? 4 : 1;
  // Blocks per phase: as many as the first phase, which has the most rows and columns.
  const yBlocks = Math.ceil(Math.ceil(inH / sh) / defines.TY);
  const xBlocks = Math.ceil(Math.ceil(inW / sw) / defines.TX);
  const total = batch * yBlocks * xBlocks * sh * sw * (inC / width);
  const pipeline = await res.pipeline('relevance_depthwise', { ...defines, PLUS: plus, ACCUMULATE: accumulate });
  const params = res.uniform([total, inH, inW, inC / width, outH, outW, outC / width, xBlocks, yBlocks, w.pads[0], w.pads[2]], `${node.kerasName} relevance params`);
  return { label: `${node.kerasName} relevance`, pipeline, workgroups: res.grid(total, WG), bindGroup: res.bindGroup(pipeline, [io.rel, weights.kernel, io.act, io.out, params], node.kerasName) };
}
