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

/** stats[slot] (+)= per-sample (sum |x|, sum x) of a batch-first tensor. */
export async function l1Norm(res: GpuResources, stats: StatsBuffer, slot: number, x: TensorRef, perSample: number, accumulate: boolean, label: string): Promise<Dispatch> {
  const pipeline = await res.pipeline('l1_norm', { WG, ACCUMULATE: accumulate });
  const params = res.uniform([perSample, stats.slots, slot], `${label} norm params`);
  return { label: `${label} norm`, pipeline, workgroups: [stats.batch, 1, 1], bindGroup: res.bindGroup(pipeline, [x, stats.buffer, params], label) };
}

/** out += raw * |R_out|_1 / |raw|_1 per sample, with both norms read from `stats`. */
export async function relativeRescale(res: GpuResources, stats: StatsBuffer, outSlot: number, rawSlot: number, raw: TensorRef, out: TensorRef, perSample: number, label: string): Promise<Dispatch> {
  const count = stats.batch * perSample;
  const pipeline = await res.pipeline('relative_rescale', { WG });
  const params = res.uniform([count, perSample, stats.slots, outSlot, rawSlot], `${label} rescale params`);
  return { label: `${label} rescale`, pipeline, workgroups: res.grid(count, WG), bindGroup: res.bindGroup(pipeline, [raw, stats.buffer, out, params], label) };
}
