import type { Graph, GraphNode } from '../../graph/ir.js';
import { vjp } from '../layer-ops.js';

/** What a rule sees of one node: the forward values that entered and left it. */
export interface LayerContext {
  graph: Graph;
  node: GraphNode;
  batch: number;
  /** Values that entered the node in the forward pass, one per input (batch first). */
  inputs: Float64Array[];
  /** The node's forward output. */
  output: Float64Array;
}

/** A rule takes the relevance at a node's output back to each of its inputs (zennit's Hook.backward). */
export interface Rule {
  name: string;
  backward(ctx: LayerContext, relevance: Float64Array): Float64Array[];
}

/** Chooses the rule for every node of a graph (zennit's Composite). */
export type Composite = (node: GraphNode) => Rule;

/** Plain backpropagation: what zennit does for a layer without a rule (routing ops, max pooling). */
export const gradient: Rule = {
  name: 'gradient',
  backward: (ctx, r) => vjp(ctx.graph, ctx.node, ctx.inputs, r, ctx.batch),
};

/** Relevance passes unchanged (zennit's Pass): element-wise layers that should not reweight it. */
export const pass: Rule = { name: 'pass', backward: (_ctx, r) => [Float64Array.from(r)] };

/** Per-sample L1 norm of a batch-first tensor. */
export function l1PerSample(x: Float64Array, batch: number): Float64Array {
  const per = x.length / batch;
  const out = new Float64Array(batch);
  for (let n = 0; n < batch; n++) for (let i = n * per; i < (n + 1) * per; i++) out[n] += Math.abs(x[i]);
  return out;
}

export const mul = (a: Float64Array, b: Float64Array): Float64Array => a.map((v, i) => v * b[i]);
