import { InputShapeError } from '../errors.js';
import type { Graph, GraphNode } from '../graph/ir.js';
import { sizeOf } from '../graph/ir.js';
import { spatial } from '../ops/types.js';
import {
  alphaBetaRule, epsilonRule, flatRule, gammaRule, type LayerRule, type LayerRuleName, wSquareRule, zBoxRule, zPlusRule,
} from './zennit.js';

/** zennit's stabiliser of every rule but Epsilon's own epsilon. */
export const STABILIZER = 1e-6;

export const COMPOSITE_METHODS = [
  'lrp0', 'epsilon', 'zplus', 'alpha-beta', 'gamma', 'flat', 'wsquare', 'zbox',
  'epsilon-plus', 'epsilon-alpha2-beta1', 'epsilon-plus-flat', 'epsilon-gamma-box',
] as const;
export type CompositeMethod = (typeof COMPOSITE_METHODS)[number];

export interface CompositeOptions {
  epsilon: number;
  gamma: number;
  alpha: number;
  beta: number;
  low?: number | number[];
  high?: number | number[];
  /** Keras layer name to rule, overriding the composite on that layer. */
  rules: Record<string, LayerRuleName>;
}

// Layer types as zennit's composites select them (torch module classes).
const isConvolution = (n: GraphNode) => (n.op === 'conv2d' && !n.dense) || n.op === 'depthwise';
const isDense = (n: GraphNode) => n.op === 'conv2d' && n.dense;
const isLinear = (n: GraphNode) => isConvolution(n) || isDense(n);

/** One rule by name, for a given node (ZBox needs the bounds at that node's input). */
export function layerRule(graph: Graph, node: GraphNode, name: LayerRuleName, o: CompositeOptions): LayerRule {
  switch (name) {
    case 'lrp0':
      return epsilonRule(0);
    case 'epsilon':
      return epsilonRule(o.epsilon);
    case 'zplus':
      return zPlusRule(STABILIZER);
    case 'alpha-beta':
      return alphaBetaRule(o.alpha, o.beta, STABILIZER);
    case 'gamma':
      return gammaRule(o.gamma, STABILIZER);
    case 'flat':
      return flatRule(STABILIZER);
    case 'wsquare':
      return wSquareRule(STABILIZER);
    case 'zbox': {
      const [low, high] = boundsAt(graph, graph.nodes[node.inputs[0]], o);
      return zBoxRule(low, high, STABILIZER);
    }
  }
}

/**
 * The rule of every Conv2D/Dense/DepthwiseConv2D node under a named composite, as zennit's
 * (SpecialFirst)LayerMapComposite chooses them: a "first layer" rule on the first matching node
 * in graph order, the layer map elsewhere, then the user's per-layer-name overrides.
 */
export function compositeLayerRules(graph: Graph, method: CompositeMethod, o: CompositeOptions): Map<number, LayerRule> {
  let choose: (n: GraphNode) => LayerRuleName;
  // The composite's own choices; the user's per-layer rules keep the user's options.
  let own = o;
  let first: { matches: (n: GraphNode) => boolean; rule: LayerRuleName } | undefined;
  const convDense = (conv: LayerRuleName) => (n: GraphNode): LayerRuleName => (isDense(n) ? 'epsilon' : conv);
  switch (method) {
    case 'zbox':
      // ZBox where the input bounds are known (the first convolution), Epsilon elsewhere.
      choose = () => 'epsilon';
      first = { matches: isConvolution, rule: 'zbox' };
      break;
    case 'epsilon-plus':
      choose = convDense('zplus');
      break;
    case 'epsilon-alpha2-beta1':
      choose = convDense('alpha-beta');
      own = { ...o, alpha: 2, beta: 1 };
      break;
    case 'epsilon-plus-flat':
      choose = convDense('zplus');
      first = { matches: isLinear, rule: 'flat' };
      break;
    case 'epsilon-gamma-box':
      choose = convDense('gamma');
      first = { matches: isConvolution, rule: 'zbox' };
      break;
    default:
      choose = () => method;
  }
  const firstNode = first && graph.nodes.find(first.matches);
  const rules = new Map<number, LayerRule>();
  for (const node of graph.nodes.filter(isLinear)) {
    const override = o.rules[node.kerasName];
    if (override) rules.set(node.id, layerRule(graph, node, override, o));
    else rules.set(node.id, layerRule(graph, node, node === firstNode ? first!.rule : choose(node), own));
  }
  return rules;
}

/** Validates a `rules` map against the graph: every name a Conv2D/Dense/DepthwiseConv2D layer. */
export function checkLayerNames(graph: Graph, rules: Record<string, string>, known: readonly string[]): void {
  for (const [layer, rule] of Object.entries(rules)) {
    if (!known.includes(rule)) throw new InputShapeError(`rules: unknown rule '${String(rule)}' for layer '${layer}' (available: ${known.join(', ')})`);
    if (graph.nodes.some((n) => isLinear(n) && n.kerasName === layer)) continue;
    if (graph.layerOutputs.has(layer)) throw new InputShapeError(`rules: layer '${layer}' is not a Conv2D, Dense or DepthwiseConv2D layer; rules apply to those`);
    const names = [...new Set(graph.nodes.filter(isLinear).map((n) => n.kerasName))];
    throw new InputShapeError(`rules: no layer named '${layer}' in the model (Conv2D/Dense/DepthwiseConv2D layers: ${names.join(', ')})`);
  }
}

/**
 * ZBox bounds at `node`'s output: the model-input bounds (a number, or one per input channel)
 * pushed through the element-wise and routing layers in front of the layer (Rescaling,
 * Normalization, BatchNormalization, ZeroPadding2D: padded cells get 0, as the conv's own
 * padding; Flatten/Reshape). Anything else before the layer has no known bounds.
 */
export function boundsAt(graph: Graph, node: GraphNode, o: CompositeOptions): [Float32Array, Float32Array] {
  const bounds = (n: GraphNode): [Float64Array, Float64Array] => {
    switch (n.op) {
      case 'input': {
        const c = n.shape[n.shape.length - 1];
        const spread = (b: number | number[]) => Float64Array.from({ length: sizeOf(n.shape) }, (_, i) => (typeof b === 'number' ? b : b[i % c]));
        return [spread(o.low!), spread(o.high!)];
      }
      case 'reshape':
      case 'identity':
        return bounds(graph.nodes[n.inputs[0]]);
      case 'affine': {
        const [l, h] = bounds(graph.nodes[n.inputs[0]]);
        const c = n.scale.length;
        const map = (x: Float64Array) => x.map((v, i) => v * n.scale[i % c] + n.shift[i % c]);
        const [a, b] = [map(l), map(h)];
        // A negative scale swaps the bounds.
        return [a.map((v, i) => Math.min(v, b[i])), a.map((v, i) => Math.max(v, b[i]))];
      }
      case 'pad': {
        const source = graph.nodes[n.inputs[0]];
        const [l, h] = bounds(source);
        const [inH, inW, c] = spatial(source.shape);
        const [outH, outW] = spatial(n.shape);
        const [pl, ph] = [new Float64Array(sizeOf(n.shape)), new Float64Array(sizeOf(n.shape))];
        for (let y = 0; y < inH; y++) {
          for (let x = 0; x < inW; x++) {
            for (let k = 0; k < c; k++) {
              const from = (y * inW + x) * c + k;
              const to = ((y + n.pads[0]) * outW + x + n.pads[2]) * c + k;
              pl[to] = l[from];
              ph[to] = h[from];
            }
          }
        }
        if (outH * outW * c !== pl.length) throw new Error(`ZeroPadding2D '${n.kerasName}': unexpected shape`);
        return [pl, ph];
      }
      default:
        throw new InputShapeError(`ZBox bounds cannot be carried through '${n.op}' (layer '${n.kerasName}') before the ZBox layer`);
    }
  };
  const [low, high] = bounds(node);
  return [Float32Array.from(low), Float32Array.from(high)];
}
