import type { Dispatch, GpuResources, StreamShape, TensorRef } from '../gpu/resources.js';

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

/** Workgroups per sample of a norm over `perSample` values: enough values each that their partial sums stay few. */
function normParts(res: GpuResources, perSample: number, batch: number): { stream: StreamShape; parts: number } {
  const stream = res.stream(perSample, true, batch);
  return { stream, parts: Math.max(1, Math.min(stream.workgroups[0], Math.floor(stream.units / (16 * stream.defines.WG)))) };
}

/** l1_norm.wgsl PARTIAL: `parts` workgroups per sample write their (sum |x|, sum x) from pair `base` of `partials` on. */
async function partialSums(res: GpuResources, x: TensorRef, perSample: number, batch: number, partials: GPUBuffer, base: number, label: string): Promise<Dispatch> {
  const { stream, parts } = normParts(res, perSample, batch);
  const pipeline = await res.pipeline('l1_norm', { ...stream.defines, ACCUMULATE: false, PARTIAL: true, PAIRS: false });
  const params = res.uniform([stream.units, 0, 0, base], `${label} norm params`);
  return { label: `${label} norm`, pipeline, workgroups: [parts, batch, 1], bindGroup: res.bindGroup(pipeline, [x, partials, params], label) };
}

/**
 * stats[slot] (+)= per-sample (sum |x|, sum x) of a batch-first tensor: one workgroup per
 * sample, or for large tensors partial sums from several workgroups per sample, then added up.
 */
export async function l1Norm(res: GpuResources, stats: StatsBuffer, slot: number, x: TensorRef, perSample: number, accumulate: boolean, label: string): Promise<Dispatch[]> {
  const { stream, parts } = normParts(res, perSample, stats.batch);
  if (parts <= 1) {
    const finish = await res.pipeline('l1_norm', { ...stream.defines, ACCUMULATE: accumulate, PARTIAL: false, PAIRS: false });
    const params = res.uniform([stream.units, stats.slots, slot, 0], `${label} norm params`);
    return [{ label: `${label} norm`, pipeline: finish, workgroups: [1, stats.batch, 1], bindGroup: res.bindGroup(finish, [x, stats.buffer, params], label) }];
  }
  const pairs = await res.pipeline('l1_norm', { WG: stream.defines.WG, VEC: false, ACCUMULATE: accumulate, PARTIAL: false, PAIRS: true });
  const partials = res.buffer(stats.batch * parts * 8, GPUBufferUsage.STORAGE, `${label} norm partials`);
  return [
    await partialSums(res, x, perSample, stats.batch, partials, 0, label),
    { label: `${label} norm pairs`, pipeline: pairs, workgroups: [1, stats.batch, 1], bindGroup: res.bindGroup(pairs, [partials, stats.buffer, res.uniform([parts, stats.slots, slot, 0], `${label} norm pairs params`)], label) },
  ];
}

/**
 * The raw messages of one node's operands (one for a linear layer, each of an Add's) with the
 * partial (sum |x|, sum x) of every operand and sample, which the rescale adds up itself: no
 * separate pass to finish the sums.
 */
export class OperandNorms {
  private constructor(readonly partials: GPUBuffer, readonly parts: number, readonly operands: number, readonly batch: number) {}

  static create(res: GpuResources, perSample: number, batch: number, operands: number, label: string): OperandNorms {
    const { parts } = normParts(res, perSample, batch);
    return new OperandNorms(res.buffer(operands * batch * parts * 8, GPUBufferUsage.STORAGE, `${label} norm partials`), parts, operands, batch);
  }

  /** The partial sums of operand k's raw message `x` (its pairs start at pair k * batch * parts). */
  record(res: GpuResources, k: number, x: TensorRef, perSample: number, label: string): Promise<Dispatch> {
    return partialSums(res, x, perSample, this.batch, this.partials, k * this.batch * this.parts, label);
  }
}

/** One operand's rescale (relative_rescale.wgsl): its norms, and where the result goes. */
export interface Rescale {
  /** Slot of |R_out|_1 (the node's complete output relevance). */
  outSlot: number;
  /** The operands' partial norms (their sum is the mass), and which operand this is. */
  norms: OperandNorms;
  part: number;
  /** Add to the input's relevance (it has other consumers) instead of storing into it. */
  accumulate: boolean;
  /** Slot to receive the input's (sum |R|, sum R), when this result is its whole relevance. */
  reportSlot?: number;
}

/** out (+)= raw * |R_out|_1 / mass per sample, with |R_out|_1 from `stats` and the mass from the operands' partial norms. */
export async function relativeRescale(res: GpuResources, stats: StatsBuffer, rescale: Rescale, raw: TensorRef, out: TensorRef, perSample: number, label: string): Promise<Dispatch> {
  const report = rescale.reportSlot !== undefined;
  const stream = res.stream(perSample, true, stats.batch);
  const pipeline = await res.pipeline('relative_rescale', { ...stream.defines, ACCUMULATE: rescale.accumulate, REPORT: report });
  const { norms } = rescale;
  const params = res.uniform([stream.units, stats.slots, rescale.outSlot, norms.parts, norms.operands, rescale.part, rescale.reportSlot ?? 0, 0], `${label} rescale params`);
  return { label: `${label} rescale`, pipeline, workgroups: stream.workgroups, bindGroup: res.bindGroup(pipeline, [raw, stats.buffer, out, params, norms.partials], label) };
}
