import type { ConvNode, DepthwiseNode, Graph, GraphNode } from '../graph/ir.js';
import { nonNegativeNodes, sizeOf } from '../graph/ir.js';
import type { Dispatch, TensorRef } from '../gpu/resources.js';
import { convMessage } from '../ops/conv2d/relevance.js';
import { conv2dOp, type ConvWeights } from '../ops/conv2d/index.js';
import { depthwiseMessage } from '../ops/depthwise/relevance.js';
import { depthwiseOp, type DepthwiseWeights } from '../ops/depthwise/index.js';
import { accumulateInto } from '../ops/elementwise/index.js';
import { inputModifier, productMessage, stabilisedDivide } from '../ops/elementwise/relevance.js';
import { poolMessage } from '../ops/pool/relevance.js';
import { modifiedWeights, PARAMS, type ParamMod } from './parameters.js';
import { passesActivations, routeRelevance } from './routing.js';
import type { RelevanceContext, RelevanceRule } from './types.js';

/**
 * The classical LRP rules on the GPU, built from zennit's orthogonal parts (rules.py, core.py).
 * A rule is a list of groups; a group is a list of terms (input modifier, parameter modifier).
 * For one Conv2D/Dense/DepthwiseConv2D node with output relevance R and input relevance R_in:
 *   z_g  = sum over the group's terms of layer(x_t; W_t, b_t)     (the forward kernel)
 *   s_g  = scale_g * R / (z_g + eps sign(z_g))  [* mask]           (relevance_divide.wgsl)
 *   R_in += sum over groups, terms of x_t * (W_t^T s_g)            (the transposed kernel)
 * Parameter modifiers are preprocessed weight copies (parameters.ts), so one forward and one
 * transposed kernel serve every rule. An (identity, W) term reuses the node's own output.
 */

/** x itself, its clamped parts, all ones, or ZBox's bounds (per-sample tensors of x's shape). */
export type InputMod = 'identity' | 'positive' | 'negative' | 'ones' | 'low' | 'high';

export interface Term { input: InputMod; param?: ParamMod }

export interface Group {
  terms: Term[];
  /** Stabiliser epsilon of the division (0 for LRP-0). */
  eps: number;
  /** Multiplies s (AlphaBeta's alpha and -beta). */
  scale: number;
  /** Gamma: keep s only where the unmodified output is > 0 / < 0. */
  mask?: 'positive' | 'negative';
}

export interface LayerRule {
  name: string;
  groups: Group[];
  /** ZBox: lowest and highest input values at this layer's input, one per value of a sample. */
  bounds?: { low: Float32Array; high: Float32Array };
}

export const LAYER_RULES = ['lrp0', 'epsilon', 'zplus', 'alpha-beta', 'gamma', 'flat', 'wsquare', 'zbox'] as const;
export type LayerRuleName = (typeof LAYER_RULES)[number];

export const epsilonRule = (eps: number): LayerRule => ({ name: eps === 0 ? 'lrp0' : `epsilon(${eps})`, groups: [{ terms: [{ input: 'identity' }], eps, scale: 1 }] });

export const zPlusRule = (stabilizer: number): LayerRule => ({
  name: 'zplus',
  groups: [{ terms: [{ input: 'positive', param: PARAMS.positive() }, { input: 'negative', param: PARAMS.negative(true) }], eps: stabilizer, scale: 1 }],
});

export const alphaBetaRule = (alpha: number, beta: number, stabilizer: number): LayerRule => ({
  name: `alpha${alpha}-beta${beta}`,
  groups: [
    { terms: [{ input: 'positive', param: PARAMS.positive() }, { input: 'negative', param: PARAMS.negative(true) }], eps: stabilizer, scale: alpha },
    { terms: [{ input: 'positive', param: PARAMS.negative() }, { input: 'negative', param: PARAMS.positive(true) }], eps: stabilizer, scale: -beta },
  ],
});

export const gammaRule = (gamma: number, stabilizer: number): LayerRule => ({
  name: `gamma(${gamma})`,
  groups: [
    { terms: [{ input: 'positive', param: PARAMS.gamma(gamma, 'positive') }, { input: 'negative', param: PARAMS.gamma(gamma, 'negative', true) }], eps: stabilizer, scale: 1, mask: 'positive' },
    { terms: [{ input: 'positive', param: PARAMS.gamma(gamma, 'negative') }, { input: 'negative', param: PARAMS.gamma(gamma, 'positive', true) }], eps: stabilizer, scale: 1, mask: 'negative' },
  ],
});

export const flatRule = (stabilizer: number): LayerRule => ({ name: 'flat', groups: [{ terms: [{ input: 'ones', param: PARAMS.ones() }], eps: stabilizer, scale: 1 }] });

export const wSquareRule = (stabilizer: number): LayerRule => ({ name: 'wsquare', groups: [{ terms: [{ input: 'ones', param: PARAMS.square() }], eps: stabilizer, scale: 1 }] });

/** z = Wx + b - (W+ l + b+) - (W- h + b-); the bound terms use the negated modified weights. */
export const zBoxRule = (low: Float32Array, high: Float32Array, stabilizer: number): LayerRule => ({
  name: 'zbox',
  groups: [{ terms: [{ input: 'identity' }, { input: 'low', param: PARAMS.negatedPositive() }, { input: 'high', param: PARAMS.negatedNegative() }], eps: stabilizer, scale: 1 }],
  bounds: { low, high },
});

/** Scratch tensors of one linear node: two modified inputs, three forward outputs, s. */
const INPUT_SLOTS = [0, 1];
const Z_SLOTS = [2, 3, 4];
const S_SLOT = 5;

type LinearNode = ConvNode | DepthwiseNode;

/**
 * The rule's groups as they act on this input: where the input is never negative, min(x, 0) is
 * 0, so a term on it with a zero bias adds exactly nothing to z or to R_in and is dropped (half
 * of ZPlus, AlphaBeta and Gamma after a ReLU), and max(x, 0) is x itself.
 */
function liveGroups(rule: LayerRule, inputNonNegative: boolean): Group[] {
  if (!inputNonNegative) return rule.groups;
  return rule.groups
    .map((g) => ({ ...g, terms: g.terms.filter((t) => !(t.input === 'negative' && t.param?.zeroBias)).map((t): Term => (t.input === 'positive' ? { ...t, input: 'identity' } : t)) }))
    .filter((g) => g.terms.length > 0);
}

/** R_in += sum_g sum_t x_t * (W_t^T s_g) for one Conv2D/Dense/DepthwiseConv2D node. */
async function recordLinear(ctx: RelevanceContext, node: LinearNode, layerRule: LayerRule, inputNonNegative: boolean): Promise<Dispatch[]> {
  const { res, batch } = ctx;
  const rule = { ...layerRule, groups: liveGroups(layerRule, inputNonNegative) };
  const input = node.inputs[0];
  const inputShape = ctx.graph.nodes[input].shape;
  const inCount = batch * sizeOf(inputShape);
  const outCount = batch * sizeOf(node.shape);
  const label = `${node.kerasName} ${rule.name}`;
  const dispatches: Dispatch[] = [];

  // Each input modifier once per node.
  const inputs = new Map<InputMod, TensorRef>();
  const free = [...INPUT_SLOTS];
  for (const { input: mod } of rule.groups.flatMap((g) => g.terms)) {
    if (inputs.has(mod)) continue;
    if (mod === 'identity') {
      inputs.set(mod, ctx.activation(input));
    } else if (mod === 'low' || mod === 'high') {
      const bound = rule.bounds![mod];
      const tiled = new Float32Array(inCount);
      for (let n = 0; n < batch; n++) tiled.set(bound, n * bound.length);
      const buffer = res.constants(tiled, `${label} ${mod} bound`);
      inputs.set(mod, { buffer, offset: 0, size: inCount * 4 });
    } else {
      const out = ctx.scratch(free.shift()!, input);
      dispatches.push(await inputModifier(res, label, inCount, mod, ctx.activation(input), out));
      inputs.set(mod, out);
    }
  }

  const weightsOf = (param: ParamMod | undefined) => modifiedWeights(res, ctx.weights, node, param);
  const forward = (x: TensorRef, param: ParamMod | undefined, z: TensorRef): Promise<Dispatch[]> => {
    const args = { res, inputs: [x], inputShapes: [inputShape], output: z, batch, activation: { kind: 'linear' as const } };
    // The layer's own forward kernel, with linear epilogue, on the modified input and weights.
    return node.op === 'conv2d'
      ? conv2dOp.record({ ...args, node, weights: weightsOf(param) as ConvWeights })
      : depthwiseOp.record({ ...args, node, weights: weightsOf(param) as DepthwiseWeights });
  };
  const transposed = async (s: TensorRef, x: TensorRef, param: ParamMod | undefined): Promise<Dispatch[]> => {
    const io = { rel: s, act: x, out: ctx.relevance(input) };
    return node.op === 'conv2d'
      ? convMessage(res, node, weightsOf(param) as ConvWeights, inputShape, batch, io, false, true)
      : [await depthwiseMessage(res, node, weightsOf(param) as DepthwiseWeights, inputShape, batch, io, false, true)];
  };

  for (const group of rule.groups) {
    // An (identity, W) term's forward output is the node's own output, which the plan keeps.
    const z: TensorRef[] = [];
    for (const [k, term] of group.terms.entries()) {
      if (term.input === 'identity' && !term.param) {
        z.push(ctx.activation(node.id));
      } else {
        z.push(ctx.scratch(Z_SLOTS[k], node.id));
        dispatches.push(...(await forward(inputs.get(term.input)!, term.param, z[k])));
      }
    }
    const s = ctx.scratch(S_SLOT, node.id);
    const mask = group.mask ? { value: ctx.activation(node.id), sign: group.mask } : undefined;
    dispatches.push(await stabilisedDivide(res, label, outCount, { rel: ctx.relevance(node.id), z, out: s, mask }, group.eps, group.scale));
    for (const term of group.terms) dispatches.push(...(await transposed(s, inputs.get(term.input)!, term.param)));
  }
  return dispatches;
}

/** Which classical rule each Conv2D/Dense/DepthwiseConv2D node gets (a zennit composite). */
export type LayerRules = ReadonlyMap<number, LayerRule>;

/**
 * A zennit composite on the GPU: the chosen rule on every linear node, and zennit's layer_map_base
 * elsewhere: activations and element-wise affine layers pass relevance unchanged, Add and average
 * pooling get the Norm rule (Epsilon without parameters), max pooling the gradient, routing
 * layers move it.
 */
export function compositeRule(name: string, graph: Graph, rules: LayerRules, stabilizer: number): RelevanceRule {
  const ruleOf = (node: GraphNode): LayerRule => {
    const rule = rules.get(node.id);
    if (!rule) throw new Error(`${name}: no rule chosen for layer '${node.kerasName}'`);
    return rule;
  };
  const nonNegative = nonNegativeNodes(graph);
  return {
    name,
    scratchCount: () => S_SLOT + 1,
    passesThrough: passesActivations,
    async record(ctx, node) {
      const { res, batch } = ctx;
      const rel = ctx.relevance(node.id);
      const count = batch * sizeOf(node.shape);
      switch (node.op) {
        case 'conv2d':
        case 'depthwise':
          return recordLinear(ctx, node, ruleOf(node), nonNegative.has(node.inputs[0]));
        case 'affine':
          return [await accumulateInto(res, `${node.kerasName} pass`, count, rel, ctx.relevance(node.inputs[0]))];
        case 'add': {
          const s = ctx.scratch(0, node.id);
          const dispatches = [await stabilisedDivide(res, `${node.kerasName} norm`, count, { rel, z: [ctx.activation(node.id)], out: s }, stabilizer, 1)];
          for (const input of node.inputs) {
            dispatches.push(await productMessage(res, `${node.kerasName} norm`, count, { rel: s, act: ctx.activation(input), out: ctx.relevance(input) }, true));
          }
          return dispatches;
        }
        case 'pool': {
          const input = node.inputs[0];
          const inputShape = graph.nodes[input].shape;
          if (node.mode === 'avg') {
            // Norm: s = R / stab(z), then x * (pooling^T s).
            const s = ctx.scratch(0, node.id);
            const outCount = batch * (node.global ? inputShape[inputShape.length - 1] : sizeOf(node.shape));
            return [
              await stabilisedDivide(res, `${node.kerasName} norm`, outCount, { rel, z: [ctx.activation(node.id)], out: s }, stabilizer, 1),
              ...(await poolMessage(res, node, inputShape, batch, { rel: s, act: ctx.activation(input), out: ctx.relevance(input) }, false, true)),
            ];
          }
          // Max pooling: the gradient (the window's winner gets R).
          const ones = ctx.scratch(0, input);
          return [
            await inputModifier(res, `${node.kerasName} gradient`, batch * sizeOf(inputShape), 'ones', undefined, ones),
            ...(await poolMessage(res, node, inputShape, batch, { rel, act: ones, out: ctx.relevance(input), winners: ctx.winners(node.id) }, false, true)),
          ];
        }
        default: {
          const routed = await routeRelevance(ctx, node);
          if (routed) return routed;
          throw new Error(`${name}: no relevance rule for op '${node.op}' (layer '${node.kerasName}')`);
        }
      }
    },
  };
}
