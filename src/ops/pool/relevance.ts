import type { PoolNode, Shape } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import { spatial } from '../types.js';
import { pooledValues, windowParams } from './index.js';

/**
 * out = a * (pooling^T R): average pooling spreads R[o] / (real cells of o) over its window
 * (`plus`: a+ only, since W = 1/k > 0 has no negative part); max pooling routes R[o] to the
 * window's first maximum, which the forward pass stored in `io.winners` (ForwardPlan's
 * winners). `accumulate` adds to out.
 */
export async function poolMessage(res: GpuResources, node: PoolNode, inputShape: Shape, batch: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef; winners?: GPUBuffer }, plus: boolean, accumulate = false): Promise<Dispatch[]> {
  const max = node.mode === 'max';
  if (max && !io.winners) throw new Error(`max pooling '${node.kerasName}': the relevance pass needs the winners from the forward pass`);
  const [inH, inW, channels] = spatial(inputShape);
  const w = node.window;
  // Windows that tile the input exactly take one invocation per window; others one per input value.
  const tiled = !node.global && w.kernel[0] === w.strides[0] && w.kernel[1] === w.strides[1] && w.pads.every((pad) => pad === 0)
    && inH === node.shape[0] * w.kernel[0] && inW === node.shape[1] * w.kernel[1];
  // Four channels at a time or one, as the forward pass that stored the winners.
  const stream = res.stream(tiled ? pooledValues(node, inputShape, batch) : batch * inH * inW * channels, channels % 4 === 0);
  const pipeline = await res.pipeline('relevance_pool', { ...stream.defines, TILED: tiled, MAX: max, PLUS: plus && !max, ACCUMULATE: accumulate });
  const params = res.uniform(windowParams(node, inputShape, stream), `${node.kerasName} relevance params`);
  return [{ label: `${node.kerasName} relevance`, pipeline, workgroups: stream.workgroups, bindGroup: res.bindGroup(pipeline, [io.rel, io.act, io.out, params, max ? io.winners : undefined], node.kerasName) }];
}
