import type { PoolNode, Shape } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import { spatial } from '../types.js';
import { windowParams } from './index.js';

/**
 * out = a * (pooling^T R): average pooling spreads R[o] / (real cells of o) over its window
 * (`plus`: a+ only, since W = 1/k > 0 has no negative part); max pooling routes R[o] to the
 * window's first maximum, found by a winner pass first over `io.values` (the pooled input; by
 * default `io.act`, which a gradient replaces by ones). `accumulate` adds to out.
 */
export async function poolMessage(res: GpuResources, node: PoolNode, inputShape: Shape, batch: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef; values?: TensorRef }, plus: boolean, accumulate = false): Promise<Dispatch[]> {
  const outTotal = batch * (node.global ? spatial(inputShape)[2] : node.shape.reduce((a, b) => a * b, 1));
  const inTotal = batch * inputShape.reduce((a, b) => a * b, 1);
  // Both passes take four channels at a time or both one: the winners' layout must agree.
  const vectorizable = spatial(inputShape)[2] % 4 === 0;
  const dispatches: Dispatch[] = [];
  let winner: GPUBuffer | undefined;
  if (node.mode === 'max') {
    const stream = res.stream(outTotal, vectorizable);
    winner = res.buffer(outTotal * 4, GPUBufferUsage.STORAGE, `${node.kerasName} winners`);
    const pipeline = await res.pipeline('pool2d', { ...stream.defines, MAX: true, ARGMAX: true });
    const params = res.uniform(windowParams(node, inputShape, stream), `${node.kerasName} winner params`);
    dispatches.push({ label: `${node.kerasName} winners`, pipeline, workgroups: stream.workgroups, bindGroup: res.bindGroup(pipeline, [io.values ?? io.act, winner, params], node.kerasName) });
  }
  const stream = res.stream(inTotal, vectorizable);
  const pipeline = await res.pipeline('relevance_pool', { ...stream.defines, MAX: node.mode === 'max', PLUS: plus && node.mode === 'avg', ACCUMULATE: accumulate });
  const params = res.uniform(windowParams(node, inputShape, stream), `${node.kerasName} relevance params`);
  dispatches.push({ label: `${node.kerasName} relevance`, pipeline, workgroups: stream.workgroups, bindGroup: res.bindGroup(pipeline, [io.rel, io.act, io.out, params, winner], node.kerasName) });
  return dispatches;
}
