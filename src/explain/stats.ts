import type { Dispatch, GpuResources, TensorRef } from '../gpu/resources.js';
import { WG } from '../ops/types.js';

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
 * sample, or for large tensors partial sums from up to 64 workgroups per sample, then added up.
 */
export async function l1Norm(res: GpuResources, stats: StatsBuffer, slot: number, x: TensorRef, perSample: number, accumulate: boolean, label: string): Promise<Dispatch[]> {
  const params = res.uniform([perSample, stats.slots, slot], `${label} norm params`);
  const parts = Math.min(64, Math.floor(perSample / (16 * WG)));
  const finish = await res.pipeline('l1_norm', { WG, ACCUMULATE: accumulate, PARTIAL: false, PAIRS: parts > 1 });
  if (parts <= 1) return [{ label: `${label} norm`, pipeline: finish, workgroups: [1, stats.batch, 1], bindGroup: res.bindGroup(finish, [x, stats.buffer, params], label) }];
  const partial = await res.pipeline('l1_norm', { WG, ACCUMULATE: false, PARTIAL: true, PAIRS: false });
  const partials = res.buffer(stats.batch * parts * 8, GPUBufferUsage.STORAGE, `${label} norm partials`);
  return [
    { label: `${label} norm`, pipeline: partial, workgroups: [parts, stats.batch, 1], bindGroup: res.bindGroup(partial, [x, partials, params], label) },
    { label: `${label} norm pairs`, pipeline: finish, workgroups: [1, stats.batch, 1], bindGroup: res.bindGroup(finish, [partials, stats.buffer, res.uniform([parts, stats.slots, slot], `${label} norm pairs params`)], label) },
  ];
}

/** out += raw * |R_out|_1 / |raw|_1 per sample, with both norms read from `stats`. */
export async function relativeRescale(res: GpuResources, stats: StatsBuffer, outSlot: number, rawSlot: number, raw: TensorRef, out: TensorRef, perSample: number, label: string): Promise<Dispatch> {
  const pipeline = await res.pipeline('relative_rescale', { WG });
  const params = res.uniform([perSample, stats.slots, outSlot, rawSlot], `${label} rescale params`);
  // Up to 4096 workgroups per sample; beyond that each thread takes several values.
  const workgroups: [number, number, number] = [Math.min(4096, Math.ceil(perSample / WG)), stats.batch, 1];
  return { label: `${label} rescale`, pipeline, workgroups, bindGroup: res.bindGroup(pipeline, [raw, stats.buffer, out, params], label) };
}
