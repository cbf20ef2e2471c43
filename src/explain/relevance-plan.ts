import type { Graph, GraphNode } from '../graph/ir.js';
import { consumers, sizeOf } from '../graph/ir.js';
import type { Gpu } from '../gpu/device.js';
import { GpuResources, type Dispatch, type TensorRef } from '../gpu/resources.js';
import { ForwardPlan, type UploadedWeights } from '../engine/forward.js';
import type { RelevanceContext, RelevanceRule } from '../rules/types.js';
import { encodeDispatches, type PassTimer } from '../gpu/timer.js';
import { l1Norm, StatsBuffer } from './stats.js';

/**
 * A forward pass that keeps every activation, plus the relevance pass of one rule, compiled for
 * a fixed micro-batch. The scheduler walks the graph backwards: once every consumer of a node
 * has sent its share, the node's relevance is complete; its per-sample L1 norm and sum are
 * recorded (the rule's rescale and the per-layer report use them) and the rule sends it on.
 * Statistics the rule's own dispatches already produce are not computed again.
 */
/** seed.wgsl: R = one-hot of each sample's target on the logits, with its statistics (1, 1) in `slot`. */
async function plainSeed(res: GpuResources, io: { logits: TensorRef; targets: GPUBuffer; seed: TensorRef }, stats: StatsBuffer, slot: number, classes: number): Promise<Dispatch> {
  const pipeline = await res.pipeline('seed', {});
  const params = res.uniform([stats.batch, classes, stats.slots, slot], 'seed params');
  return { label: 'seed', pipeline, workgroups: [Math.ceil(stats.batch / 64), 1, 1], bindGroup: res.bindGroup(pipeline, [io.logits, io.targets, io.seed, params, stats.buffer], 'seed') };
}

export class RelevancePlan {
  private constructor(
    readonly forward: ForwardPlan,
    private readonly res: GpuResources,
    private readonly dispatches: Dispatch[],
    private readonly relevanceBuffers: GPUBuffer[],
    readonly relevance: Map<number, TensorRef>,
    readonly stats: StatsBuffer,
    /** Stats slot of each node's relevance statistics (nodes sharing a buffer share one). */
    readonly statSlot: (id: number) => number,
    /** The seed (seed.wgsl), or the rule's dispatch that also takes the output layer's step. */
    private readonly seed: Dispatch,
    readonly targets: GPUBuffer,
  ) {}

  static async compile(gpu: Gpu, graph: Graph, weights: UploadedWeights, batch: number, rule: RelevanceRule): Promise<RelevancePlan> {
    const read = rule.reads?.(graph) ?? new Set(graph.nodes.map((n) => n.id));
    const forward = await ForwardPlan.compile(gpu, graph, weights, batch, read, true);
    const res = new GpuResources(gpu);
    try {
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
      const consumersOf = consumers(graph);
      // A node whose relevance reaches its input unchanged shares that input's buffer when the
      // input has no other consumer: nothing is copied, and both have the same statistics, kept
      // in the slot of the last node of such a chain.
      const shares = (node: GraphNode) => (node.op === 'reshape' || !!rule.passesThrough?.(node)) && consumersOf.get(node.inputs[0])!.length === 1;
      const relevance = new Map<number, TensorRef>();
      const sharedBy = new Map<number, number>();
      const buffers: GPUBuffer[] = [];
      for (const node of graph.nodes) {
        const bytes = batch * sizeOf(node.shape) * 4;
        if (shares(node)) {
          relevance.set(node.id, { ...relevance.get(node.inputs[0])!, size: bytes });
          sharedBy.set(node.inputs[0], node.id);
        } else {
          const buffer = res.buffer(bytes, usage, `relevance of ${node.kerasName}`);
          buffers.push(buffer);
          relevance.set(node.id, { buffer, offset: 0, size: bytes });
        }
      }
      const statSlot = (id: number): number => (sharedBy.has(id) ? statSlot(sharedBy.get(id)!) : id);
      const largest = Math.max(...graph.nodes.map((n) => sizeOf(n.shape))) * batch * 4;
      const scratch = Array.from({ length: rule.scratchCount(graph) }, (_, k) => res.buffer(largest, usage, `relevance scratch ${k}`));
      const stats = new StatsBuffer(res, graph.nodes.length, batch);
      // The seed writes its own statistics.
      const reported = new Set<number>([statSlot(graph.output)]);
      const ctx: RelevanceContext = {
        res, graph, batch, weights, stats, statSlot,
        consumers: (id) => consumersOf.get(id)!,
        sharesInput: (id) => sharedBy.get(graph.nodes[id].inputs[0]) === id,
        reportStats: (id) => reported.add(statSlot(id)),
        activation: (id) => {
          // Any other value may share memory with later ones: reading it would be reading garbage.
          if (!read.has(id)) throw new Error(`${rule.name} reads the forward value of '${graph.nodes[id].kerasName}' but did not declare it (RelevanceRule.reads)`);
          return forward.tensors.get(id)!;
        },
        relevance: (id) => relevance.get(id)!,
        winners: (id) => forward.winners.get(id),
        scratch: (k, id) => ({ buffer: scratch[k], offset: 0, size: batch * sizeOf(graph.nodes[id].shape) * 4 }),
      };
      const classes = sizeOf(graph.nodes[graph.output].shape);
      const targets = res.buffer(batch * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, 'targets');
      const logits = forward.tensors.get(graph.output)!;
      const seed = (await rule.seed?.(ctx, { logits, targets })) ?? (await plainSeed(res, { logits, targets, seed: relevance.get(graph.output)! }, stats, statSlot(graph.output), classes));
      const dispatches: Dispatch[] = [];
      // A complete relevance's statistics pass waits for the next dispatch, which might compute
      // them itself on its way (ctx.reportStats); nodes in between record nothing (pass-throughs
      // sharing the buffer), so the relevance it reads is the same.
      let pending: GraphNode | undefined;
      const flush = async () => {
        if (pending && !reported.has(pending.id)) {
          dispatches.push(...(await l1Norm(res, stats, pending.id, relevance.get(pending.id)!, sizeOf(pending.shape), false, pending.kerasName)));
        }
        pending = undefined;
      };
      for (const node of [...graph.nodes].reverse()) {
        // Complete now: every consumer has sent its share. Its statistics for the report and
        // the rules, unless a rule wrote them already or they are those of the node sharing its buffer.
        if (!sharedBy.has(node.id) && !reported.has(node.id)) {
          await flush();
          pending = node;
        }
        const recorded = await rule.record(ctx, node);
        if (recorded.length) await flush();
        dispatches.push(...recorded);
      }
      await flush();
      return new RelevancePlan(forward, res, dispatches, buffers, relevance, stats, statSlot, seed, targets);
    } catch (e) {
      res.destroy();
      forward.destroy();
      throw e;
    }
  }

  /**
   * Records the forward pass, the seed (targets must already be in `targets`: a class index,
   * or -1 for the predicted class) and the relevance pass into `encoder`; `profile` times each
   * dispatch on its own.
   */
  encode(encoder: GPUCommandEncoder, timer?: PassTimer, profile = false): void {
    this.forward.encode(encoder, timer, profile);
    for (const buffer of this.relevanceBuffers) encoder.clearBuffer(buffer);
    encoder.clearBuffer(this.stats.buffer);
    encodeDispatches(encoder, [this.seed, ...this.dispatches], 'relevance', timer, profile);
  }

  /** Dispatches per call: the capacity a profiling PassTimer needs. */
  get dispatchCount(): number {
    return this.forward.dispatchCount + this.dispatches.length + 1;
  }

  destroy(): void {
    this.res.destroy();
    this.forward.destroy();
  }
}
