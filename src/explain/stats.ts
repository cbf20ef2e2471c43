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

/**
 * Values per thread up to which one workgroup per sample reduces a whole tensor (and rescales
 * it in the same dispatch). On a CPU adapter a dispatch costs about as much as one core reading
 * tens of thousands of values; a GPU wants its other workgroups much sooner.
 */
function singleWorkgroupUnitsPerThread(res: GpuResources): number {
  return res.gpu.cpu ? 512 : 16;
}

function fitsOneWorkgroup(res: GpuResources, stream: StreamShape): boolean {
  return stream.units <= singleWorkgroupUnitsPerThread(res) * (stream.defines.WG as number);
}

/** Whether one workgroup per sample reduces a tensor of `perSample` values (and rescales it in the same dispatch). */
export function reducesInOneWorkgroup(res: GpuResources, perSample: number, batch: number): boolean {
  return fitsOneWorkgroup(res, res.stream(perSample, true, batch));
}

/** Workgroups per sample of a norm over `perSample` values: one for small tensors, else enough values each that their partial sums stay few. */
function normParts(res: GpuResources, perSample: number, batch: number): { stream: StreamShape; parts: number } {
  const stream = res.stream(perSample, true, batch);
  if (fitsOneWorkgroup(res, stream)) return { stream, parts: 1 };
  return { stream, parts: Math.max(1, Math.min(stream.workgroups[0], Math.floor(stream.units / (16 * (stream.defines.WG as number))))) };
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
 * separate pass to finish the sums. A single small operand needs no partials at all: its
 * rescale sums it itself (`selfNormed`).
 */
export class OperandNorms {
  private constructor(readonly partials: GPUBuffer | undefined, readonly parts: number, readonly operands: number, readonly batch: number) {}

  /** Partial norms of `operands` raw messages of `perSample` values each (an Add's joint rescale). */
  static create(res: GpuResources, perSample: number, batch: number, operands: number, label: string): OperandNorms {
    const { parts } = normParts(res, perSample, batch);
    return new OperandNorms(res.buffer(operands * batch * parts * 8, GPUBufferUsage.STORAGE, `${label} norm partials`), parts, operands, batch);
  }

  /**
   * The norms of one linear layer's raw message: none when both it and R_out (`outPerSample`
   * values, which a self-normed rescale sums too) are small enough for one workgroup per sample.
   */
  static ofMessage(res: GpuResources, perSample: number, outPerSample: number, batch: number, label: string): OperandNorms {
    if (reducesInOneWorkgroup(res, perSample, batch) && reducesInOneWorkgroup(res, outPerSample, batch)) return new OperandNorms(undefined, 1, 1, batch);
    return OperandNorms.create(res, perSample, batch, 1, label);
  }

  get selfNormed(): boolean {
    return this.partials === undefined;
  }

  /** The partial sums of operand k's raw message `x` (its pairs start at pair k * batch * parts); none when self-normed. */
  async record(res: GpuResources, k: number, x: TensorRef, perSample: number, label: string): Promise<Dispatch[]> {
    if (!this.partials) return [];
    return [await partialSums(res, x, perSample, this.batch, this.partials, k * this.batch * this.parts, label)];
  }
}

/** Where a rescaled message goes in its input's relevance. */
export interface Destination {
  /** Add to the input's relevance (it has other consumers) instead of storing into it. */
  accumulate: boolean;
  /** Slot to receive the input's (sum |R|, sum R), when this result is its whole relevance. */
  reportSlot?: number;
}

/** One operand's rescale (relative_rescale.wgsl): its norms, and where the result goes. */
export interface Rescale extends Destination {
  /** Slot of |R_out|_1 (the node's complete output relevance). */
  outSlot: number;
  /** R_out itself and its values per sample: a self-normed rescale sums it and fills outSlot. */
  rel: TensorRef;
  relPerSample: number;
  /** The operands' partial norms (their sum is the mass), and which operand this is. */
  norms: OperandNorms;
  part: number;
}

/**
 * out (+)= raw * |R_out|_1 / mass per sample, with |R_out|_1 from `stats` and the mass from the
 * operands' partial norms, or, self-normed, both summed by the rescale itself.
 */
export async function relativeRescale(res: GpuResources, stats: StatsBuffer, rescale: Rescale, raw: TensorRef, out: TensorRef, perSample: number, label: string): Promise<Dispatch> {
  const report = rescale.reportSlot !== undefined;
  const { norms } = rescale;
  const stream = res.stream(perSample, true, stats.batch);
  const pipeline = await res.pipeline('relative_rescale', { ...stream.defines, ACCUMULATE: rescale.accumulate, REPORT: report, SELF_NORM: norms.selfNormed });
  const params = res.uniform([stream.units, stats.slots, rescale.outSlot, norms.parts, norms.operands, rescale.part, rescale.reportSlot ?? 0, rescale.relPerSample], `${label} rescale params`);
  return {
    label: `${label} rescale`, pipeline, workgroups: norms.selfNormed ? [1, stats.batch, 1] : stream.workgroups,
    bindGroup: res.bindGroup(pipeline, [raw, stats.buffer, out, params, norms.partials, norms.selfNormed ? rescale.rel : undefined], label),
  };
}

/** Where one operand of a fused two-operand Add step sends its relevance. */
export interface AddOperandTarget extends Destination { out: TensorRef }

/**
 * R-LRP's whole step through a two-operand Add of a small tensor (rlrp_add.wgsl): split,
 * joint norm and rescale of both operands in one dispatch. `u` are the operands' forward values.
 */
export async function rlrpAddStep(res: GpuResources, stats: StatsBuffer, outSlot: number, rel: TensorRef, u: [TensorRef, TensorRef], targets: [AddOperandTarget, AddOperandTarget], perSample: number, flags: { plus: boolean; ratio: boolean }, label: string): Promise<Dispatch> {
  const stream = res.stream(perSample, true, stats.batch);
  const pipeline = await res.pipeline('rlrp_add', {
    ...stream.defines, PLUS: flags.plus, RATIO: flags.ratio,
    ACCUMULATE_0: targets[0].accumulate, ACCUMULATE_1: targets[1].accumulate, REPORT_0: targets[0].reportSlot !== undefined, REPORT_1: targets[1].reportSlot !== undefined,
  });
  const params = res.uniform([stream.units, stats.slots, outSlot, targets[0].reportSlot ?? 0, targets[1].reportSlot ?? 0, 0, 0, 0], `${label} add params`);
  return {
    label: `${label} relevance split and rescale`, pipeline, workgroups: [1, stats.batch, 1],
    bindGroup: res.bindGroup(pipeline, [rel, u[0], u[1], targets[0].out, targets[1].out, stats.buffer, params], label),
  };
}
