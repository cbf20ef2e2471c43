import type { GraphNode } from '../../graph/ir.js';
import { nodeParams, vjp } from '../layer-ops.js';
import { type Composite, type LayerContext, type Rule, gradient, l1PerSample, mul, pass } from './rule.js';

/**
 * R-LRP as defined in docs/rlrp.md, reconstructed from the paper's abstract (Nyiri & Gibaru,
 * arXiv 2501.14322), and this project's variant R-LRP+. Kept as one module so that a different
 * published definition can replace it without touching the scheduler.
 *
 * Every rule is two orthogonal parts: a contribution, which splits R_out over the layer's inputs
 * without any per-neuron division, and the relative rescale, which gives the parts the L1 mass of
 * R_out (per sample, jointly over all inputs of the layer).
 */
export interface RlrpOptions {
  /** R-LRP+: positive contributions only. */
  plus?: boolean;
  /** Split at Add: u_k * R ('product', the default) or (u_k / y) * R ('ratio'). */
  skip?: 'product' | 'ratio';
}

type Contribution = (ctx: LayerContext, r: Float64Array) => Float64Array[];

/** Scales the parts by one factor per sample so that sum_k |part_k|_1 = |R_out|_1; 0 where the parts carry nothing. */
export function relativeRescale(rOut: Float64Array, parts: Float64Array[], batch: number): Float64Array[] {
  const target = l1PerSample(rOut, batch);
  const total = new Float64Array(batch);
  for (const p of parts) l1PerSample(p, batch).forEach((v, n) => (total[n] += v));
  const factor = target.map((t, n) => (total[n] === 0 ? 0 : t / total[n]));
  return parts.map((p) => {
    const per = p.length / batch;
    return p.map((v, i) => v * factor[Math.floor(i / per)]);
  });
}

const rescaled = (name: string, contribution: Contribution): Rule => ({
  name,
  backward: (ctx, r) => relativeRescale(r, contribution(ctx, r), ctx.batch),
});

/**
 * a * (W^T R): linear layers (bias excluded, as W^T does not see it) and max pooling, whose
 * transpose routes R to the first maximum, so the winner's activation (= the output) multiplies it.
 */
const inputTimesAdjoint: Contribution = (ctx, r) => vjp(ctx.graph, ctx.node, ctx.inputs, r, ctx.batch).map((g, k) => mul(ctx.inputs[k], g));

/**
 * a+ * (W+^T R) + a- * (W-^T R): only the products a_i w_ji that are positive. Average pooling has
 * W = W+ = 1/k and W- = 0, so only its a+ term remains (as the oracle computes it: R-LRP+ stays
 * non-negative even where a pooled activation is negative).
 */
const positiveParts: Contribution = (ctx, r) => {
  const part = (keep: (v: number) => boolean) => {
    const a = ctx.inputs[0].map((v) => (keep(v) ? v : 0));
    const params = nodeParams(ctx.node);
    const w = params && { weight: params.weight.map((v) => (keep(v) ? v : 0)), bias: params.bias };
    return mul(a, vjp(ctx.graph, ctx.node, ctx.inputs, r, ctx.batch, w)[0]);
  };
  const pos = part((v) => v > 0);
  if (ctx.node.op === 'pool') return [pos];
  const neg = part((v) => v < 0);
  return [pos.map((v, i) => v + neg[i])];
};

/** Add: R_k = share_k * R with share_k from the inputs u_k; where every share is 0, R / m to each input. */
function addSplit(share: (u: number) => number, normalise: boolean): Contribution {
  return (ctx, r) => {
    const m = ctx.inputs.length;
    const shares = ctx.inputs.map((u) => u.map(share));
    return shares.map((s) => s.map((v, i) => {
      let total = 0, any = false;
      for (const other of shares) { total += other[i]; any ||= other[i] !== 0; }
      if (!any) return r[i] / m;
      return (normalise ? v / total : v) * r[i];
    }));
  };
}

const positive = (v: number) => Math.max(v, 0);

/** Signed Add splits: equal split only where the output y is exactly 0 ('ratio'); 'product' has no special case. */
const signedAdd = (skip: 'product' | 'ratio'): Contribution => (skip === 'ratio'
  ? (ctx, r) => ctx.inputs.map((u) => u.map((v, i) => (ctx.output[i] === 0 ? r[i] / ctx.inputs.length : (v / ctx.output[i]) * r[i])))
  : (ctx, r) => ctx.inputs.map((u) => mul(u, r)));

export function rlrpComposite(options: RlrpOptions = {}): Composite {
  const skip = options.skip ?? 'product';
  const linear = options.plus ? rescaled('rlrp-plus-linear', positiveParts) : rescaled('rlrp-linear', inputTimesAdjoint);
  const add = options.plus
    ? rescaled(`rlrp-plus-add-${skip}`, addSplit(positive, skip === 'ratio'))
    : rescaled(`rlrp-add-${skip}`, signedAdd(skip));
  const winner = rescaled('rlrp-max-winner', inputTimesAdjoint);
  return (node: GraphNode) => {
    switch (node.op) {
      case 'conv2d':
      case 'depthwise':
      case 'affine':
        return linear;
      case 'pool':
        return node.mode === 'max' ? winner : linear;
      case 'add':
        return add;
      case 'activation':
        return pass;
      default:
        // Input, reshape, pad, concat: relevance is moved, never changed.
        return gradient;
    }
  };
}
