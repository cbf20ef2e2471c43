import type { PoolNode, Shape } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import type { StatsBuffer } from '../../explain/stats.js';
import { spatial } from '../types.js';
import { pooledValues, windowParams } from './index.js';

/**
 * R-LRP's step from the layer above through a small pooling layer in one dispatch
 * (relevance_pool.wgsl RESCALED): `rel` is then the layer above's raw message, rescaled here
 * together with this layer's own message.
 */
export interface RescaledPoolStep {
  stats: StatsBuffer;
  /** The layer above's output relevance (its |R|_1 is the target) and its stats slot. */
  above: TensorRef;
  abovePerSample: number;
  aboveSlot: number;
  /** The pooled output's relevance (stored here too) and its stats slot. */
  pooled: TensorRef;
  pooledSlot: number;
  /** Max pooling: the pooled output's forward values, its windows' maxima. */
  pooledValues?: TensorRef;
  /** Stats slot of the input's relevance, when this result is all of it. */
  reportSlot?: number;
}

/**
 * out = a * (pooling^T R): average pooling spreads R[o] / (real cells of o) over its window
 * (`plus`: a+ only, since W = 1/k > 0 has no negative part); max pooling routes R[o] to the
 * window's first maximum, which the forward pass stored in `io.winners` (ForwardPlan's
 * winners). `accumulate` adds to out; `rescaled` makes it R-LRP's whole step from the layer above.
 */
export async function poolMessage(res: GpuResources, node: PoolNode, inputShape: Shape, batch: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef; winners?: GPUBuffer }, plus: boolean, accumulate = false, rescaled?: RescaledPoolStep): Promise<Dispatch[]> {
  const max = node.mode === 'max';
  if (max && !io.winners) throw new Error(`max pooling '${node.kerasName}': the relevance pass needs the winners from the forward pass`);
  const [inH, inW, channels] = spatial(inputShape);
  const w = node.window;
  // Windows that tile the input exactly take one invocation per window; others one per input value.
  const tiled = !node.global && w.kernel[0] === w.strides[0] && w.kernel[1] === w.strides[1] && w.pads.every((pad) => pad === 0)
    && inH === node.shape[0] * w.kernel[0] && inW === node.shape[1] * w.kernel[1];
  // Four channels at a time or one, as the forward pass that stored the winners; a rescaled
  // step streams over one sample per workgroup row.
  const rows = rescaled ? batch : 1;
  const stream = res.stream((tiled ? pooledValues(node, inputShape, batch) : batch * inH * inW * channels) / rows, channels % 4 === 0, rows);
  // Disjoint windows of maxima: the winners' activations are the pooled values.
  const winnerValues = !!rescaled && tiled && max;
  if (winnerValues && !rescaled.pooledValues) throw new Error(`max pooling '${node.kerasName}': the rescaled step needs the pooled values`);
  const pipeline = await res.pipeline('relevance_pool', {
    ...stream.defines, TILED: tiled, MAX: max, PLUS: plus && !max, ACCUMULATE: accumulate, RESCALED: !!rescaled, REPORT: rescaled?.reportSlot !== undefined, WINNER_VALUES: winnerValues,
  });
  const pooledPerSample = pooledValues(node, inputShape, 1) / (stream.defines.VEC ? 4 : 1);
  const step = rescaled ? [rescaled.stats.slots, rescaled.aboveSlot, rescaled.pooledSlot, rescaled.reportSlot ?? 0, rescaled.abovePerSample, pooledPerSample] : [];
  const params = res.uniform([...windowParams(node, inputShape, stream), ...step], `${node.kerasName} relevance params`);
  const bindings = [io.rel, winnerValues ? rescaled.pooledValues : io.act, io.out, params, max ? io.winners : undefined, rescaled?.stats.buffer, rescaled?.above, rescaled?.pooled];
  return [{
    label: `${node.kerasName} ${rescaled ? 'relevance and rescales' : 'relevance'}`, pipeline, workgroups: rescaled ? [1, batch, 1] : stream.workgroups,
    bindGroup: res.bindGroup(pipeline, bindings, node.kerasName),
  }];
}
