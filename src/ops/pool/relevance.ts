import type { PoolNode, Shape } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import { spatial, WG } from '../types.js';

function windowParams(node: PoolNode, inputShape: Shape, total: number): number[] {
  const [inH, inW, c] = spatial(inputShape);
  const [outH, outW] = node.global ? [1, 1] : spatial(node.shape);
  const w = node.window;
  return [total, inH, inW, c, outH, outW, w.kernel[0], w.kernel[1], w.strides[0], w.strides[1], w.pads[0], w.pads[2]];
}

/**
 * out = a * (pooling^T R): average pooling spreads R[o] / (real cells of o) over its window
 * (`plus`: a+ only, since W = 1/k > 0 has no negative part); max pooling routes R[o] to the
 * window's first maximum, found by a winner pass first over `io.values` (the pooled input; by
 * default `io.act`, which a gradient replaces by ones). `accumulate` adds to out.
 */
export async function poolMessage(res: GpuResources, node: PoolNode, inputShape: Shape, batch: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef; values?: TensorRef }, plus: boolean, accumulate = false): Promise<Dispatch[]> {
  const outTotal = batch * (node.global ? spatial(inputShape)[2] : node.shape.reduce((a, b) => a * b, 1));
  const inTotal = batch * inputShape.reduce((a, b) => a * b, 1);
  const dispatches: Dispatch[] = [];
  let winner: GPUBuffer | undefined;
  if (node.mode === 'max') {
    winner = res.buffer(outTotal * 4, GPUBufferUsage.STORAGE, `${node.kerasName} winners`);
    const pipeline = await res.pipeline('pool2d', { WG, MAX: true, ARGMAX: true });
    const params = res.uniform(windowParams(node, inputShape, outTotal), `${node.kerasName} winner params`);
    dispatches.push({ label: `${node.kerasName} winners`, pipeline, workgroups: res.grid(outTotal, WG), bindGroup: res.bindGroup(pipeline, [io.values ?? io.act, winner, params], node.kerasName) });
  }
  const pipeline = await res.pipeline('relevance_pool', { WG, MAX: node.mode === 'max', PLUS: plus && node.mode === 'avg', ACCUMULATE: accumulate });
  const params = res.uniform(windowParams(node, inputShape, inTotal), `${node.kerasName} relevance params`);
  dispatches.push({ label: `${node.kerasName} relevance`, pipeline, workgroups: res.grid(inTotal, WG), bindGroup: res.bindGroup(pipeline, [io.rel, io.act, io.out, params, winner], node.kerasName) });
  return dispatches;
}
