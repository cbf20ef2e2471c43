import type { ConvNode, Graph, GraphNode, PoolNode } from '../graph/ir.js';
import { sizeOf } from '../graph/ir.js';
import type { Dispatch, TensorRef } from '../gpu/resources.js';
import { convMessage, seededDenseStep } from '../ops/conv2d/relevance.js';
import type { ConvWeights } from '../ops/conv2d/index.js';
import { depthwiseMessage } from '../ops/depthwise/relevance.js';
import type { DepthwiseWeights } from '../ops/depthwise/index.js';
import { applyActivation, type AffineWeights } from '../ops/elementwise/index.js';
import { addSplitMessage, affineMessage, positiveSum } from '../ops/elementwise/relevance.js';
import { poolMessage } from '../ops/pool/relevance.js';
import { OperandNorms, reducesInOneWorkgroup, relativeRescale, rlrpAddStep, type Destination, type Rescale } from '../explain/stats.js';
import { passesActivations, routeRelevance } from './routing.js';
import type { RelevanceContext, RelevanceRule } from './types.js';

/**
 * R-LRP as defined in the project's spec (../shared/docs/rlrp-spec.md), reconstructed from the
 * paper's abstract, and this project's variant R-LRP+ (`plus`). Every layer's message is
 * division-free; the only division is the relative rescale by a whole layer's L1 norm:
 *   linear layers   R_in = a * (W^T R_out), then R_in *= |R_out|_1 / |R_in|_1
 *   max pooling     the window's first maximum gets a * R_out, then the same rescale
 *   Add             R_k = u_k * R_out (or the ratio split), then one joint rescale
 * This module is the only place that knows these formulas; another published definition can
 * replace it without touching the scheduler.
 */
export interface RlrpOptions {
  /** R-LRP+: positive contributions only (a+ W+ + a- W-), still without per-neuron division. */
  plus: boolean;
  /** Add split: 'product' R_k = u_k * R (default) or 'ratio' R_k = (u_k / y) * R. */
  skip: 'product' | 'ratio';
}

export function rlrpRule(options: RlrpOptions): RelevanceRule {
  const { plus, skip } = options;
  const name = `${plus ? 'rlrp-plus' : 'rlrp'}${skip === 'ratio' ? '-ratio' : ''}`;

  /**
   * How the node's rescaled message reaches `input`'s relevance. Where the node is the input's
   * only consumer (and reads it once), the result is stored rather than added, and gives the
   * input's relevance statistics too.
   */
  function sendTo(ctx: RelevanceContext, node: GraphNode, input: number): Destination {
    const only = ctx.consumers(input).length === 1 && node.inputs.filter((i) => i === input).length === 1;
    if (only) ctx.reportStats(input);
    return { accumulate: !only, reportSlot: only ? ctx.statSlot(input) : undefined };
  }

  /** The rescale of operand `part` of the node's messages into `input`'s relevance. */
  function rescaleInto(ctx: RelevanceContext, node: GraphNode, input: number, norms: OperandNorms, part: number): Rescale {
    // A self-normed rescale sums R_out too: no statistics pass over it first.
    if (norms.selfNormed) ctx.reportStats(node.id);
    return { outSlot: ctx.statSlot(node.id), rel: ctx.relevance(node.id), relPerSample: sizeOf(node.shape), norms, part, ...sendTo(ctx, node, input) };
  }

  /**
   * The small pooling layer below a linear node that takes over the node's rescale
   * (poolMessage's rescaled step): reached through pass-throughs sharing its buffer, with this
   * node its output's only reader, and its input, output and R_out all small enough for one
   * workgroup per sample. The node then leaves its raw message in scratch 0.
   */
  function poolBelow(ctx: RelevanceContext, node: GraphNode): GraphNode | undefined {
    if (node.op === 'pool' || node.inputs.length !== 1 || ctx.consumers(node.inputs[0]).length !== 1) return undefined;
    let below = ctx.graph.nodes[node.inputs[0]];
    while (ctx.sharesInput(below.id)) below = ctx.graph.nodes[below.inputs[0]];
    if (below.op !== 'pool') return undefined;
    const small = (id: number) => reducesInOneWorkgroup(ctx.res, sizeOf(ctx.graph.nodes[id].shape), ctx.batch);
    return small(node.id) && small(below.id) && small(below.inputs[0]) ? below : undefined;
  }

  /** The linear node whose rescale pooling node `pool` takes over (poolBelow), if any. */
  function rescaleAbove(ctx: RelevanceContext, pool: GraphNode): GraphNode | undefined {
    let id = pool.id;
    while (ctx.consumers(id).length === 1) {
      const consumer = ctx.graph.nodes[ctx.consumers(id)[0]];
      if (!ctx.sharesInput(consumer.id)) return poolBelow(ctx, consumer) === pool ? consumer : undefined;
      id = consumer.id;
    }
    return undefined;
  }

  /** Message into scratch 0, its partial L1 norms (unless the rescale sums it itself), then the rescale into the input's relevance. */
  async function linear(ctx: RelevanceContext, node: GraphNode, message: (io: { rel: TensorRef; act: TensorRef; out: TensorRef }) => Promise<Dispatch[]>): Promise<Dispatch[]> {
    const input = node.inputs[0];
    const perSample = sizeOf(ctx.graph.nodes[input].shape);
    const raw = ctx.scratch(0, input);
    if (poolBelow(ctx, node)) {
      // The pooling step below sums R_out and reports the pooled output's statistics.
      ctx.reportStats(node.id);
      ctx.reportStats(input);
      return message({ rel: ctx.relevance(node.id), act: ctx.activation(input), out: raw });
    }
    const norms = OperandNorms.ofMessage(ctx.res, perSample, sizeOf(node.shape), ctx.batch, node.kerasName);
    return [
      ...(await message({ rel: ctx.relevance(node.id), act: ctx.activation(input), out: raw })),
      ...(await norms.record(ctx.res, 0, raw, perSample, node.kerasName)),
      await relativeRescale(ctx.res, ctx.stats, rescaleInto(ctx, node, input, norms, 0), raw, ctx.relevance(input), perSample, node.kerasName),
    ];
  }

  /**
   * Whether the output layer's step runs with the seed in one dispatch (rlrp_seed_dense.wgsl):
   * a Dense layer on a small vector, its input's only reader, its kernel in one binding, unless
   * a pooling layer below takes over its rescale (poolBelow: as few dispatches).
   */
  function seedsThrough(ctx: RelevanceContext, node: GraphNode): boolean {
    if (node.id !== ctx.graph.output || node.op !== 'conv2d' || !node.dense || node.shape.length !== 1 || poolBelow(ctx, node)) return false;
    const input = ctx.graph.nodes[node.inputs[0]];
    const weights = ctx.weights.get(node.id) as ConvWeights;
    return input.shape.length === 1 && ctx.consumers(input.id).length === 1 && weights.chunks.length === 1 && reducesInOneWorkgroup(ctx.res, input.shape[0], ctx.batch);
  }

  /** The pooling layer's whole step from `above`'s raw message (in scratch 0, as poolBelow arranged) in one dispatch. */
  async function pooledStep(ctx: RelevanceContext, pool: GraphNode, above: GraphNode): Promise<Dispatch[]> {
    const input = pool.inputs[0];
    const { accumulate, reportSlot } = sendTo(ctx, pool, input);
    return poolMessage(ctx.res, pool as PoolNode, ctx.graph.nodes[input].shape, ctx.batch, {
      rel: ctx.scratch(0, above.inputs[0]), act: ctx.activation(input), out: ctx.relevance(input), winners: ctx.winners(pool.id),
    }, plus, accumulate, {
      stats: ctx.stats, above: ctx.relevance(above.id), abovePerSample: sizeOf(above.shape), aboveSlot: ctx.statSlot(above.id), pooled: ctx.relevance(pool.id), pooledSlot: ctx.statSlot(pool.id), pooledValues: (pool as PoolNode).mode === 'max' ? ctx.activation(pool.id) : undefined, reportSlot,
    });
  }

  async function add(ctx: RelevanceContext, node: GraphNode): Promise<Dispatch[]> {
    const { res, batch } = ctx;
    const perSample = sizeOf(node.shape);
    const count = batch * perSample;
    const m = node.inputs.length;
    // Two distinct operands of a small tensor: the whole step in one dispatch, which sums R_out too.
    if (m === 2 && node.inputs[0] !== node.inputs[1] && reducesInOneWorkgroup(res, perSample, batch)) {
      ctx.reportStats(node.id);
      const targets = node.inputs.map((input) => ({ out: ctx.relevance(input), ...sendTo(ctx, node, input) }));
      const u = node.inputs.map((input) => ctx.activation(input));
      return [await rlrpAddStep(res, ctx.stats, ctx.statSlot(node.id), ctx.relevance(node.id), [u[0], u[1]], [targets[0], targets[1]], perSample, { plus, ratio: skip === 'ratio' }, node.kerasName)];
    }
    const dispatches: Dispatch[] = [];
    // The split's denominator: y itself for R-LRP's ratio, sum_k u_k+ for R-LRP+.
    let total: TensorRef | undefined;
    if (plus) {
      total = ctx.scratch(m, node.id);
      dispatches.push(await applyActivation(res, `${node.kerasName} positive part`, count, { kind: 'relu' }, ctx.activation(node.inputs[0]), total));
      for (const input of node.inputs.slice(1)) dispatches.push(await positiveSum(res, node.kerasName, count, ctx.activation(input), total));
    } else if (skip === 'ratio') {
      total = ctx.activation(node.id);
    }
    // Each operand's norms apart: the joint rescale divides by their sum, the report needs each.
    const norms = OperandNorms.create(res, perSample, batch, m, node.kerasName);
    for (const [k, input] of node.inputs.entries()) {
      const raw = ctx.scratch(k, node.id);
      dispatches.push(await addSplitMessage(res, node.kerasName, count, m, { rel: ctx.relevance(node.id), act: ctx.activation(input), out: raw, total }, { plus, ratio: skip === 'ratio' }));
      dispatches.push(...(await norms.record(res, k, raw, perSample, node.kerasName)));
    }
    for (const [k, input] of node.inputs.entries()) {
      dispatches.push(await relativeRescale(res, ctx.stats, rescaleInto(ctx, node, input, norms, k), ctx.scratch(k, node.id), ctx.relevance(input), perSample, node.kerasName));
    }
    return dispatches;
  }

  return {
    name,
    scratchCount: (graph: Graph) => Math.max(1, ...graph.nodes.filter((n) => n.op === 'add').map((n) => n.inputs.length + (plus ? 1 : 0))),
    passesThrough: passesActivations,
    // Linear layers and pooling read their input, an Add its operands (and its sum for the ratio
    // split); routing layers read nothing, so a layer's value before its activation is not kept.
    reads(graph: Graph) {
      const read = new Set<number>();
      for (const node of graph.nodes) {
        if (node.op === 'conv2d' || node.op === 'depthwise' || node.op === 'pool' || node.op === 'affine') read.add(node.inputs[0]);
        // A max pool's own values: its winners' activations where it takes over the rescale above (poolMessage).
        if (node.op === 'pool' && node.mode === 'max') read.add(node.id);
        if (node.op === 'add') {
          for (const input of node.inputs) read.add(input);
          if (!plus && skip === 'ratio') read.add(node.id);
        }
      }
      return read;
    },
    async seed(ctx, io) {
      const node = ctx.graph.nodes[ctx.graph.output];
      if (!seedsThrough(ctx, node)) return undefined;
      const input = node.inputs[0];
      const { reportSlot } = sendTo(ctx, node, input);
      const weights = ctx.weights.get(node.id) as ConvWeights;
      return seededDenseStep(ctx.res, ctx.stats, node as ConvNode, {
        ...io, seed: ctx.relevance(node.id), kernel: weights.chunks[0].buffer, act: ctx.activation(input), out: ctx.relevance(input),
      }, { seedSlot: ctx.statSlot(node.id), reportSlot }, { plus, f16: weights.f16 });
    },
    async record(ctx, node) {
      // The seed's dispatch took the output layer's step.
      if (seedsThrough(ctx, node)) return [];
      const routed = await routeRelevance(ctx, node);
      if (routed) return routed;
      const inputShape = ctx.graph.nodes[node.inputs[0]]?.shape;
      const weights = ctx.weights.get(node.id);
      switch (node.op) {
        case 'conv2d':
          return linear(ctx, node, (io) => convMessage(ctx.res, node, weights as ConvWeights, inputShape, ctx.batch, io, plus));
        case 'depthwise':
          return linear(ctx, node, async (io) => [await depthwiseMessage(ctx.res, node, weights as DepthwiseWeights, inputShape, ctx.batch, io, plus)]);
        case 'pool': {
          // Max pooling routes to the winner under both variants; R-LRP+ average pooling keeps a+ * W (W = 1/k has no negative part).
          const above = rescaleAbove(ctx, node);
          if (above) return pooledStep(ctx, node, above);
          return linear(ctx, node, (io) => poolMessage(ctx.res, node, inputShape, ctx.batch, { ...io, winners: ctx.winners(node.id) }, plus));
        }
        case 'affine':
          return linear(ctx, node, async (io) => [await affineMessage(ctx.res, node, weights as AffineWeights, ctx.batch * sizeOf(node.shape), io, plus)]);
        case 'add':
          return add(ctx, node);
        default:
          throw new Error(`${name}: no relevance rule for op '${node.op}' (layer '${node.kerasName}')`);
      }
    },
  };
}
