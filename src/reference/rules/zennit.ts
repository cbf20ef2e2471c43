import type { GraphNode } from '../../graph/ir.js';
import { type Params, linearForward, nodeParams, vjp } from '../layer-ops.js';
import { type Composite, type Rule, gradient, pass } from './rule.js';

/**
 * The classical LRP rules, written from zennit's definitions (rules.py, core.py, composites.py):
 * each rule is a BasicHook, i.e. lists of input modifiers and parameter modifiers (one forward of
 * the layer per pair), a gradient mapper that turns R_out and those outputs into one output
 * gradient per pair, and a reducer that combines the modified inputs with their input gradients.
 */

type InputMod = (x: Float64Array) => Float64Array;
type ParamMod = (p: Params) => Params;

interface HookSpec {
  inputs: InputMod[];
  params: ParamMod[];
  mapper: (r: Float64Array, outputs: Float64Array[]) => Float64Array[];
  /** Per input tensor of the layer: the modified inputs and the gradients at them, one per pair. */
  reducer: (inputs: Float64Array[], gradients: Float64Array[]) => Float64Array;
}

export function basicHook(name: string, spec: HookSpec): Rule {
  return {
    name,
    backward(ctx, r) {
      const base = nodeParams(ctx.node);
      const xs = spec.inputs.map((mod) => ctx.inputs.map(mod));
      const ps = spec.params.map((mod) => (base ? mod(base) : undefined));
      const outputs = xs.map((x, k) => linearForward(ctx.graph, ctx.node, x, ctx.batch, ps[k]));
      const grads = spec.mapper(r, outputs).map((g, k) => vjp(ctx.graph, ctx.node, xs[k], g, ctx.batch, ps[k]));
      return ctx.inputs.map((_, j) => spec.reducer(xs.map((x) => x[j]), grads.map((g) => g[j])));
    },
  };
}

/** zennit's stabilize: z + eps * sign(z), with sign(0) = +1, so a zero denominator becomes eps. */
export const stabilize = (z: Float64Array, eps: number): Float64Array => z.map((v) => v + (v < 0 ? -eps : eps));

// Input modifiers.
const identity: InputMod = (x) => x;
const clampMin0: InputMod = (x) => x.map((v) => Math.max(v, 0));
const clampMax0: InputMod = (x) => x.map((v) => Math.min(v, 0));
const ones: InputMod = (x) => new Float64Array(x.length).fill(1);

// Parameter modifiers: zennit's ParamMod applies to weight and bias alike unless the bias is zeroed.
const paramMod = (f: (v: number) => number, zeroBias = false): ParamMod => (p) => ({
  weight: p.weight.map(f),
  bias: zeroBias ? new Float64Array(p.bias.length) : p.bias.map(f),
});
const noMod: ParamMod = (p) => p;
const positivePart = (v: number) => Math.max(v, 0);
const negativePart = (v: number) => Math.min(v, 0);
const gammaMod = (gamma: number, part: (v: number) => number, zeroBias = false) => paramMod((v) => v + gamma * part(v), zeroBias);

const sum = (xs: Float64Array[]): Float64Array => xs.reduce((acc, x) => acc.map((v, i) => v + x[i]));
const divide = (r: Float64Array, z: Float64Array, eps: number) => {
  const s = stabilize(z, eps);
  return r.map((v, i) => v / s[i]);
};
const inputTimesGradient = (inputs: Float64Array[], grads: Float64Array[]) => sum(inputs.map((x, k) => x.map((v, i) => v * grads[k][i])));

export const epsilon = (eps = 1e-6): Rule => basicHook(`epsilon(${eps})`, {
  inputs: [identity],
  params: [noMod],
  mapper: (r, [z]) => [divide(r, z, eps)],
  reducer: inputTimesGradient,
});

export const zPlus = (stabilizer = 1e-6): Rule => basicHook('zplus', {
  inputs: [clampMin0, clampMax0],
  params: [paramMod(positivePart), paramMod(negativePart, true)],
  mapper: (r, outputs) => Array(2).fill(divide(r, sum(outputs), stabilizer)),
  reducer: inputTimesGradient,
});

export const alphaBeta = (alpha = 2, beta = 1, stabilizer = 1e-6): Rule => {
  // zennit refuses anything else: only alpha - beta = 1 conserves relevance.
  if (alpha < 0 || beta < 0 || alpha - beta !== 1) throw new Error(`AlphaBeta needs alpha, beta >= 0 with alpha - beta = 1 (got ${alpha}, ${beta})`);
  return basicHook(`alpha${alpha}-beta${beta}`, {
    inputs: [clampMin0, clampMax0, clampMin0, clampMax0],
    params: [paramMod(positivePart), paramMod(negativePart, true), paramMod(negativePart), paramMod(positivePart, true)],
    mapper: (r, z) => {
      const pos = divide(r, z[0].map((v, i) => v + z[1][i]), stabilizer);
      const neg = divide(r, z[2].map((v, i) => v + z[3][i]), stabilizer);
      return [pos, pos, neg, neg];
    },
    reducer: (x, g) => {
      const pos = inputTimesGradient(x.slice(0, 2), g.slice(0, 2)), neg = inputTimesGradient(x.slice(2), g.slice(2));
      return pos.map((v, i) => alpha * v - beta * neg[i]);
    },
  });
};

/** Generalised Gamma: positive outputs use the gamma-boosted positive parts, negative outputs the negative ones. */
export const gammaRule = (gamma = 0.25, stabilizer = 1e-6): Rule => basicHook(`gamma(${gamma})`, {
  inputs: [clampMin0, clampMax0, clampMin0, clampMax0, identity],
  params: [gammaMod(gamma, positivePart), gammaMod(gamma, negativePart, true), gammaMod(gamma, negativePart), gammaMod(gamma, positivePart, true), noMod],
  mapper: (r, z) => {
    const pos = divide(r, z[0].map((v, i) => v + z[1][i]), stabilizer).map((v, i) => (z[4][i] > 0 ? v : 0));
    const neg = divide(r, z[2].map((v, i) => v + z[3][i]), stabilizer).map((v, i) => (z[4][i] < 0 ? v : 0));
    return [pos, pos, neg, neg, new Float64Array(r.length)];
  },
  reducer: (x, g) => inputTimesGradient(x.slice(0, 4), g.slice(0, 4)),
});

/** Flat: all weights 1, bias 0, input 1; the relevance is the gradient at the (constant) input. */
export const flat = (stabilizer = 1e-6): Rule => basicHook('flat', {
  inputs: [ones],
  params: [paramMod(() => 1, true)],
  mapper: (r, [z]) => [divide(r, z, stabilizer)],
  reducer: (_x, [g]) => g,
});

export const wSquare = (stabilizer = 1e-6): Rule => basicHook('wsquare', {
  inputs: [ones],
  params: [paramMod((v) => v * v)],
  mapper: (r, [z]) => [divide(r, z, stabilizer)],
  reducer: (_x, [g]) => g,
});

/** ZBox with per-sample bounds tensors of the layer input's shape (tiled over the batch). */
export const zBox = (low: Float64Array, high: Float64Array, stabilizer = 1e-6): Rule => {
  const tile = (bound: Float64Array): InputMod => (x) => x.map((_, i) => bound[i % bound.length]);
  return basicHook('zbox', {
    inputs: [identity, tile(low), tile(high)],
    params: [noMod, paramMod(positivePart), paramMod(negativePart)],
    mapper: (r, [z, zl, zh]) => Array(3).fill(divide(r, z.map((v, i) => v - zl[i] - zh[i]), stabilizer)),
    reducer: ([x, l, h], [gx, gl, gh]) => x.map((v, i) => v * gx[i] - l[i] * gl[i] - h[i] * gh[i]),
  });
};

/** Norm: Epsilon with a fixed stabilizer and no parameters (zennit's rule for Sum and average pooling). */
export const norm = (stabilizer = 1e-6): Rule => basicHook('norm', {
  inputs: [identity],
  params: [noMod],
  mapper: (r, [z]) => [divide(r, z, stabilizer)],
  reducer: inputTimesGradient,
});

// Layer types as zennit's composites select them (torch module classes).
export type LayerType = (node: GraphNode) => boolean;
export const isConvolution: LayerType = (n) => (n.op === 'conv2d' && !n.dense) || n.op === 'depthwise';
export const isDense: LayerType = (n) => n.op === 'conv2d' && n.dense;
export const isLinear: LayerType = (n) => isConvolution(n) || isDense(n);

/** zennit's layer_map_base plus the oracle's treatment of BatchNorm/Rescaling/Normalization. */
export const layerMapBase = (stabilizer = 1e-6): [LayerType, Rule][] => [
  [(n) => n.op === 'activation', pass],
  [(n) => n.op === 'add', norm(stabilizer)],
  [(n) => n.op === 'pool' && n.mode === 'avg', norm(stabilizer)],
  [(n) => n.op === 'affine', pass],
];

/**
 * zennit's (SpecialFirst)LayerMapComposite: the first node in graph order that matches a type of
 * `firstMap` gets that rule; every other node the first matching rule of `layerMap`; nodes without
 * one (max pooling, routing) the gradient.
 */
export function layerMapComposite(nodes: GraphNode[], layerMap: [LayerType, Rule][], firstMap: [LayerType, Rule][] = []): Composite {
  const first = nodes.find((n) => firstMap.some(([type]) => type(n)));
  return (node) => {
    if (first && node === first) return firstMap.find(([type]) => type(node))![1];
    return layerMap.find(([type]) => type(node))?.[1] ?? gradient;
  };
}
