import type { PoolNode, Shape } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import { spatial } from '../types.js';
import { windowParams } from './index.js';

/**
 * out = a * (pooling^T R): average pooling spreads R[o] / (real cells of o) over its window
 * (`plus`: a+ only, since W = 1/k > 0 has no negative part); max pooling routes R[o] to the
 * window's first maximum, which the forward pass stored in `io.winners` (ForwardPlan's
 * winners). `accumulate` adds to out.
 */
export async function poolMessage(res: GpuResources, node: PoolNode, inputShape: Shape, batch: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef; winners?: GPUBuffer }, plus: boolean, accumulate = false): Promise<Dispatch[]> {
  const max = node.mode === 'max';
  if (max && !io.winners) throw new Error(`max pooling '${node.kerasName}': the relevance pass needs the winners from the forward pass`);
  // Four channels at a time or one, as the forward pass that stored the winners.
  const stream = res.stream(batch * inputShape.reduce((a, b) => a * b, 1), spatial(inputShape)[2] % 4 === 0);
  const pipeline = await res.pipeline('relevance_pool', { ...stream.defines, MAX: max, PLUS: plus && !max, ACCUMULATE: accumulate });
  const params = res.uniform(windowParams(node, inputShape, stream), `${node.kerasName} relevance params`);
  return [{ label: `${node.kerasName} relevance`, pipeline, workgroups: stream.workgroups, bindGroup: res.bindGroup(pipeline, [io.rel, io.act, io.out, params, max ? io.winners : undefined], node.kerasName) }];
}
