import type { Gpu } from './device.js';
import type { Dispatch, GpuResources } from './resources.js';

/** Timed passes per query set (WebGPU's limit of 4096 queries, two per pass). */
const PASSES_PER_SET = 2048;

/**
 * Measures compute passes on the adapter with timestamp queries: each timed pass gets a
 * begin/end pair under a label; durations of the same label are summed (micro-batches).
 * Where the adapter has no timestamps every method is a no-op and `read` returns undefined.
 */
export class PassTimer {
  private readonly querySets: GPUQuerySet[] = [];
  private readonly resolve?: GPUBuffer;
  private readonly readback?: GPUBuffer;
  private readonly labels: string[] = [];

  constructor(gpu: Gpu, res: GpuResources, private readonly capacity: number) {
    if (!gpu.hasTimestamps) return;
    // WebGPU caps a query set at 4096 queries: a profile of thousands of dispatches (Winograd
    // chunks of a batch of 8) takes several.
    for (let first = 0; first < capacity; first += PASSES_PER_SET) {
      this.querySets.push(gpu.device.createQuerySet({ type: 'timestamp', count: 2 * Math.min(PASSES_PER_SET, capacity - first) }));
    }
    this.resolve = res.buffer(capacity * 16, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, 'timestamps');
    this.readback = res.buffer(capacity * 16, GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ, 'timestamps readback');
  }

  /** Timestamp writes for the next pass, or undefined when not timing. */
  pass(label: string): GPUComputePassTimestampWrites | undefined {
    if (!this.querySets.length || this.labels.length >= this.capacity) return undefined;
    const index = this.labels.push(label) - 1;
    const local = index % PASSES_PER_SET;
    return { querySet: this.querySets[Math.floor(index / PASSES_PER_SET)], beginningOfPassWriteIndex: 2 * local, endOfPassWriteIndex: 2 * local + 1 };
  }

  /** Records the resolve; call once after the last timed pass. */
  finish(encoder: GPUCommandEncoder): void {
    if (this.labels.length === 0) return;
    this.querySets.forEach((set, i) => {
      const passes = Math.min(PASSES_PER_SET, this.labels.length - i * PASSES_PER_SET);
      if (passes > 0) encoder.resolveQuerySet(set, 0, passes * 2, this.resolve!, i * PASSES_PER_SET * 16);
    });
    encoder.copyBufferToBuffer(this.resolve!, 0, this.readback!, 0, this.labels.length * 16);
  }

  /** Milliseconds per label, after the submission that `finish` was recorded into. */
  async read(): Promise<Record<string, number> | undefined> {
    if (!this.readback || this.labels.length === 0) return undefined;
    await this.readback.mapAsync(GPUMapMode.READ);
    const ticks = new BigInt64Array(this.readback.getMappedRange().slice(0, this.labels.length * 16));
    const totals: Record<string, number> = {};
    this.labels.forEach((label, i) => { totals[label] = (totals[label] ?? 0) + Number(ticks[2 * i + 1] - ticks[2 * i]) / 1e6; });
    this.readback.unmap();
    return totals;
  }

  /** Frees the query sets (the buffers belong to the GpuResources given at construction). */
  destroy(): void {
    for (const set of this.querySets) set.destroy();
  }
}

/**
 * Records dispatches as one compute pass timed under `phase`, or, when profiling, one pass per
 * dispatch timed under `phase:label` (so per-layer times come from the adapter's own clock;
 * the extra pass boundaries cost a little, which is why profiling is opt-in).
 */
export function encodeDispatches(encoder: GPUCommandEncoder, dispatches: Pick<Dispatch, 'label' | 'pipeline' | 'bindGroup' | 'workgroups'>[], phase: string, timer?: PassTimer, profile = false): void {
  const groups = profile ? dispatches.map((d) => ({ label: `${phase}:${d.label}`, dispatches: [d] })) : [{ label: phase, dispatches }];
  for (const group of groups) {
    const timestampWrites = timer?.pass(group.label);
    const pass = encoder.beginComputePass(timestampWrites ? { timestampWrites } : {});
    for (const d of group.dispatches) {
      // The debug group puts the layer's name into any validation error of this dispatch.
      pass.pushDebugGroup(d.label);
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.workgroups);
      pass.popDebugGroup();
    }
    pass.end();
  }
}

/** Total milliseconds of a phase from `read`'s labels ('forward' or 'forward:<layer>', ...). */
export function phaseMs(totals: Record<string, number>, phase: string): number {
  return Object.entries(totals).reduce((sum, [label, ms]) => (label === phase || label.startsWith(`${phase}:`) ? sum + ms : sum), 0);
}
