import type { Graph, GraphNode } from '../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../gpu/resources.js';
import type { UploadedWeights } from '../engine/forward.js';
import type { StatsBuffer } from '../explain/stats.js';

/** What a rule may use to record one node's relevance dispatches for one micro-batch. */
export interface RelevanceContext {
  res: GpuResources;
  graph: Graph;
  batch: number;
  weights: UploadedWeights;
  stats: StatsBuffer;
  /** Stats slot holding per-sample (sum |R|, sum R) of node `id`'s complete output relevance. */
  statSlot(id: number): number;
  /** Nodes that read node `id`'s output. */
  consumers(id: number): readonly number[];
  /** Node `id`'s relevance is its input's buffer (see RelevanceRule.passesThrough): nothing to send. */
  sharesInput(id: number): boolean;
  /**
   * Tells the scheduler that the dispatches being recorded write node `id`'s complete relevance
   * statistics into statSlot(id), so it skips its own pass over that relevance.
   */
  reportStats(id: number): void;
  /** The forward value of node `id` (the activations the node's consumers saw). */
  activation(id: number): TensorRef;
  /** Max-pooling node `id`'s winners, each window's first maximum, as the forward pass found them (undefined for other nodes). */
  winners(id: number): GPUBuffer | undefined;
  /** The relevance of node `id`'s output; rules accumulate into their inputs' relevance. */
  relevance(id: number): TensorRef;
  /** The k-th scratch tensor, sized for node `id`'s output. */
  scratch(k: number, id: number): TensorRef;
}

/**
 * A relevance rule sends each node's output relevance to its inputs. The scheduler walks the
 * graph backwards and never sees a formula; each rule module owns its own.
 */
export interface RelevanceRule {
  readonly name: string;
  /** Scratch tensors the rule needs per node at most (Add operands count here). */
  scratchCount(graph: Graph): number;
  /**
   * The nodes whose forward values the rule reads (ctx.activation); by default every node's.
   * The forward pass keeps only these, so it may fuse an activation into the layer before it
   * and reuse the memory of the other values.
   */
  reads?(graph: Graph): Set<number>;
  /**
   * Whether the node's relevance reaches its input unchanged (an activation under LRP rules;
   * reshapes always do): where that input has no other consumer, both share one buffer.
   */
  passesThrough?(node: GraphNode): boolean;
  record(ctx: RelevanceContext, node: GraphNode): Promise<Dispatch[]>;
  /**
   * A dispatch that seeds the pass (the target's one-hot on the logits, its statistics, the
   * chosen targets written back, as seed.wgsl) and takes the output layer's own step with it;
   * record() then returns nothing for that layer. Undefined: the plain seed.
   */
  seed?(ctx: RelevanceContext, io: { logits: TensorRef; targets: GPUBuffer }): Promise<Dispatch | undefined>;
}
