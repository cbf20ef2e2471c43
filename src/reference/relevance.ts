import type { Graph, GraphNode } from '../graph/ir.js';
import { sizeOf } from '../graph/ir.js';
import { referenceForward, referenceOp } from './forward.js';
import { type Composite, type Rule, gradient, l1PerSample } from './rules/rule.js';
import { rlrpComposite } from './rules/rlrp.js';
import {
  type LayerType, alphaBeta, epsilon, flat, gammaRule, isConvolution, isDense, isLinear, layerMapBase, layerMapComposite, wSquare, zBox, zPlus,
} from './rules/zennit.js';

/**
 * Float64 CPU reference of every relevance method: the forward reference gives the activations,
 * a composite picks one rule per node, and the relevance walks the graph backwards from the
 * one-hot of the target logit. Shares no code with the GPU path; the GPU kernels are tested
 * against it.
 */

export const RELEVANCE_METHODS = [
  'rlrp', 'rlrp-ratio', 'rlrp-plus', 'rlrp-plus-ratio',
  'gradient', 'gradient-x-input',
  'lrp0', 'epsilon', 'zplus', 'alpha-beta', 'gamma', 'flat', 'wsquare', 'zbox',
  'epsilon-plus', 'epsilon-alpha2-beta1', 'epsilon-plus-flat', 'epsilon-gamma-box',
] as const;
export type RelevanceMethod = (typeof RELEVANCE_METHODS)[number];

export interface RelevanceOptions {
  /** R-LRP split at Add ('rlrp-ratio' and 'rlrp-plus-ratio' set 'ratio'). */
  skip?: 'product' | 'ratio';
  /** Epsilon rule's epsilon (default 1e-6; 'lrp0' is epsilon 0). */
  epsilon?: number;
  /** Stabiliser of every other classical rule (default 1e-6, as zennit's composites). */
  stabilizer?: number;
  gamma?: number;
  alpha?: number;
  beta?: number;
  /** ZBox bounds of the model input (a number, or one per input channel); pushed through element-wise layers before the first convolution. */
  low?: number | number[];
  high?: number | number[];
}

export interface LayerRelevance {
  node: number;
  /** Per sample, of the relevance at this node's output. */
  l1: Float64Array;
  sum: Float64Array;
}

export interface RelevanceResult {
  /** Input-shaped, batch first. */
  relevance: Float64Array;
  /** Every node that received relevance, in graph order. */
  layers: LayerRelevance[];
}

export function referenceRelevance(
  graph: Graph, input: ArrayLike<number>, batch: number, targets: number[], method: string, options: RelevanceOptions = {},
): RelevanceResult {
  const values = referenceForward(graph, input, batch);
  const composite = compositeFor(graph, method, options);
  const classes = sizeOf(graph.nodes[graph.output].shape);
  if (targets.length !== batch) throw new Error(`need one target per sample (${batch}), got ${targets.length}`);
  const seed = new Float64Array(batch * classes);
  targets.forEach((t, n) => {
    if (!Number.isInteger(t) || t < 0 || t >= classes) throw new Error(`target ${t} is not a class index in [0, ${classes})`);
    seed[n * classes + t] = 1;
  });

  // Relevance arriving at each node's output; a tensor read by several nodes sums what each sends back.
  const incoming: (Float64Array | undefined)[] = [];
  incoming[graph.output] = seed;
  const layers: LayerRelevance[] = [];
  for (const node of [...graph.nodes].reverse()) {
    const r = incoming[node.id];
    if (!r) continue;
    layers.push({ node: node.id, l1: l1PerSample(r, batch), sum: sumPerSample(r, batch) });
    if (node.op === 'input') continue;
    const ctx = { graph, node, batch, inputs: node.inputs.map((i) => values[i]), output: values[node.id] };
    composite(node).backward(ctx, r).forEach((part, k) => {
      const target = node.inputs[k];
      const prev = incoming[target];
      incoming[target] = prev ? prev.map((v, i) => v + part[i]) : part;
    });
  }
  layers.reverse();
  let relevance = incoming[graph.input] ?? new Float64Array(values[graph.input].length);
  if (method === 'gradient-x-input') relevance = relevance.map((v, i) => v * values[graph.input][i]);
  return { relevance, layers };
}

function sumPerSample(x: Float64Array, batch: number): Float64Array {
  const per = x.length / batch;
  const out = new Float64Array(batch);
  for (let i = 0; i < x.length; i++) out[Math.floor(i / per)] += x[i];
  return out;
}

/** Method name to composite, as zennit's named composites map layer types to rules. */
function compositeFor(graph: Graph, method: string, o: RelevanceOptions): Composite {
  const stab = o.stabilizer ?? 1e-6;
  const eps = epsilon(o.epsilon ?? 1e-6);
  const everyLinear = (rule: Rule) => layerMapComposite(graph.nodes, [...layerMapBase(stab), [isLinear, rule]]);
  const convDense = (conv: Rule, first: [LayerType, Rule][] = []) =>
    layerMapComposite(graph.nodes, [...layerMapBase(stab), [isConvolution, conv], [isDense, eps]], first);
  // zennit's first-layer map: ZBox on the first convolution, if there is one.
  const firstConv = graph.nodes.find(isConvolution);
  const box = (): [LayerType, Rule][] => (firstConv ? [[isConvolution, zBox(...zBoxBounds(graph, firstConv, o), stab)]] : []);
  switch (method) {
    case 'rlrp':
    case 'rlrp-ratio':
    case 'rlrp-plus':
    case 'rlrp-plus-ratio':
      return rlrpComposite({ plus: method.startsWith('rlrp-plus'), skip: method.endsWith('-ratio') ? 'ratio' : o.skip });
    case 'gradient':
    case 'gradient-x-input':
      return () => gradient;
    case 'lrp0':
      return everyLinear(epsilon(0));
    case 'epsilon':
      return everyLinear(eps);
    case 'zplus':
      return everyLinear(zPlus(stab));
    case 'alpha-beta':
      return everyLinear(alphaBeta(o.alpha ?? 2, o.beta ?? 1, stab));
    case 'gamma':
      return everyLinear(gammaRule(o.gamma ?? 0.25, stab));
    case 'flat':
      return everyLinear(flat(stab));
    case 'wsquare':
      return everyLinear(wSquare(stab));
    case 'zbox':
      // ZBox only makes sense where the input bounds are known: the first convolution; Epsilon elsewhere.
      return layerMapComposite(graph.nodes, [...layerMapBase(stab), [isLinear, eps]], box());
    case 'epsilon-plus':
      return convDense(zPlus(stab));
    case 'epsilon-alpha2-beta1':
      return convDense(alphaBeta(2, 1, stab));
    case 'epsilon-plus-flat':
      return convDense(zPlus(stab), [[isLinear, flat(stab)]]);
    case 'epsilon-gamma-box':
      return convDense(gammaRule(o.gamma ?? 0.25, stab), box());
    default:
      throw new Error(`unknown relevance method '${method}' (known: ${RELEVANCE_METHODS.join(', ')})`);
  }
}

/**
 * ZBox bounds at the input of `layer`: the model-input bounds pushed through the element-wise
 * layers (Rescaling, Normalization, BatchNormalization) and routing layers in front of it, per
 * sample position. Cells a ZeroPadding2D layer adds get bound 0, like the conv's own padding.
 */
function zBoxBounds(graph: Graph, layer: GraphNode, o: RelevanceOptions): [Float64Array, Float64Array] {
  if (o.low === undefined || o.high === undefined) throw new Error('ZBox needs the input bounds: options low and high');
  const bounds = (node: GraphNode): [Float64Array, Float64Array] => {
    if (node.op === 'input') {
      const c = node.shape[node.shape.length - 1];
      const spread = (b: number | number[]) => Float64Array.from({ length: sizeOf(node.shape) }, (_, i) => (typeof b === 'number' ? b : b[i % c]));
      return [spread(o.low!), spread(o.high!)];
    }
    if (node.op !== 'affine' && node.op !== 'pad' && node.op !== 'identity' && node.op !== 'reshape') {
      throw new Error(`ZBox bounds cannot be carried through '${node.op}' (layer '${node.kerasName}') before the first convolution`);
    }
    const source = graph.nodes[node.inputs[0]];
    const [a, b] = bounds(source).map((x) => referenceOp(node, [x], [source.shape], 1));
    // A negative scale swaps the bounds.
    return [a.map((v, i) => Math.min(v, b[i])), a.map((v, i) => Math.max(v, b[i]))];
  };
  return bounds(graph.nodes[layer.inputs[0]]);
}
