import type { Dispatch, GpuResources, TensorRef } from '../gpu/resources.js';

/**
 * Per-sample relevance statistics in one storage buffer of (sum |R|, sum R) pairs, one row of
 * `slots` pairs per sample, so that a micro-batch's rows copy out as one block.
 */
export class StatsBuffer {
  readonly buffer: GPUBuffer;

  constructor(res: GpuResources, readonly slots: number, readonly batch: number) {
    this.buffer = res.buffer(this.bytesPerSample * batch, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, 'relevance stats');
  }

  get bytesPerSample(): number {
    return this.slots * 2 * 4;
  }
}

/**
 * stats[slot] (+)= per-sample (sum |x|, sum x) of a batch-first tensor: one workgroup per
 * sample, or for large tensors partial sums from several workgroups per sample (GpuResources.stream), then added up.
 */
export async function l1Norm(res: GpuResources, stats: StatsBuffer, slot: number, x: TensorRef, perSample: number, accumulate: boolean, label: string): Promise<Dispatch[]> {
  const stream = res.stream(perSample, true, stats.batch);
  const { WG } = stream.defines;
  const params = res.uniform([stream.units, stats.slots, slot], `${label} norm params`);
  // Enough values per workgroup that the second step stays small.
  const parts = Math.min(stream.workgroups[0], Math.floor(stream.units / (16 * WG)));
  const finish = await res.pipeline('l1_norm', { ...stream.defines, ACCUMULATE: accumulate, PARTIAL: false, PAIRS: false });
  if (parts <= 1) return [{ label: `${label} norm`, pipeline: finish, workgroups: [1, stats.batch, 1], bindGroup: res.bindGroup(finish, [x, stats.buffer, params], label) }];
  const partial = await res.pipeline('l1_norm', { ...stream.defines, ACCUMULATE: false, PARTIAL: true, PAIRS: false });
  const pairs = await res.pipeline('l1_norm', { WG, VEC: false, ACCUMULATE: accumulate, PARTIAL: false, PAIRS: true });
  const partials = res.buffer(stats.batch * parts * 8, GPUBufferUsage.STORAGE, `${label} norm partials`);
  return [
    { label: `${label} norm`, pipeline: partial, workgroups: [parts, stats.batch, 1], bindGroup: res.bindGroup(partial, [x, partials, params], label) },
    { label: `${label} norm pairs`, pipeline: pairs, workgroups: [1, stats.batch, 1], bindGroup: res.bindGroup(pairs, [partials, stats.buffer, res.uniform([parts, stats.slots, slot], `${label} norm pairs params`)], label) },
  ];
}

/** One operand's rescale (relative_rescale.wgsl): which stats slots hold its norms, and where the result goes. */
export interface Rescale {
  /** Slot of |R_out|_1 (the node's complete output relevance). */
  outSlot: number;
  /** First of `rawSlots` slots whose L1 norms add up to the mass; this operand's own is rawSlot + part. */
  rawSlot: number;
  rawSlots: number;
  part: number;
  /** Add to the input's relevance (it has other consumers) instead of storing into it. */
  accumulate: boolean;
  /** Slot to receive the input's (sum |R|, sum R), when this result is its whole relevance. */
  reportSlot?: number;
}

/** out (+)= raw * |R_out|_1 / mass per sample, with the norms read from `stats`. */
export async function relativeRescale(res: GpuResources, stats: StatsBuffer, rescale: Rescale, raw: TensorRef, out: TensorRef, perSample: number, label: string): Promise<Dispatch> {
  const report = rescale.reportSlot !== undefined;
  const stream = res.stream(perSample, true, stats.batch);
  const pipeline = await res.pipeline('relative_rescale', { ...stream.defines, ACCUMULATE: rescale.accumulate, REPORT: report });
  const params = res.uniform([stream.units, stats.slots, rescale.outSlot, rescale.rawSlot, rescale.rawSlots, rescale.part, rescale.reportSlot ?? 0, 0], `${label} rescale params`);
  return { label: `${label} rescale`, pipeline, workgroups: stream.workgroups, bindGroup: res.bindGroup(pipeline, [raw, stats.buffer, out, params], label) };
}
