import type { ConvNode, DepthwiseNode } from '../graph/ir.js';
import { GpuResources } from '../gpu/resources.js';
import type { UploadedWeights } from '../engine/forward.js';
import { conv2dOp, type ConvWeights } from '../ops/conv2d/index.js';
import { depthwiseOp, type DepthwiseWeights } from '../ops/depthwise/index.js';

/**
 * zennit's parameter modifiers as preprocessing: a rule that needs W+, W + gamma*W+, W^2, ...
 * gets a modified copy of the layer's weights and bias, uploaded once per (model, modifier) and
 * then served to the same forward kernels (conv2d.wgsl, depthwise_conv2d.wgsl) and the same
 * transposed kernels (conv2d.wgsl TRANSPOSED, relevance_depthwise.wgsl) as the plain weights.
 */
export interface ParamMod {
  /** Identifies f in the cache and in labels (modifiers that differ only in zeroBias share one upload). */
  key: string;
  /** Applied to every weight and, unless zeroBias, every bias value. */
  f: (v: number) => number;
  /** zennit's zero_params=['bias']: the modified layer has no bias. */
  zeroBias: boolean;
}

const positive = (v: number) => Math.max(v, 0);
const negative = (v: number) => Math.min(v, 0);

export const PARAMS = {
  positive: (zeroBias = false): ParamMod => ({ key: 'W+', f: positive, zeroBias }),
  negative: (zeroBias = false): ParamMod => ({ key: 'W-', f: negative, zeroBias }),
  /** W + gamma * W+ (or W-): zennit's GammaMod. */
  gamma: (gamma: number, part: 'positive' | 'negative', zeroBias = false): ParamMod => {
    const clamp = part === 'positive' ? positive : negative;
    return { key: `W+${gamma}*W${part === 'positive' ? '+' : '-'}`, f: (v) => v + gamma * clamp(v), zeroBias };
  },
  /** Flat: every weight 1, no bias. */
  ones: (): ParamMod => ({ key: '1', f: () => 1, zeroBias: true }),
  /** WSquare: weights and bias squared. */
  square: (): ParamMod => ({ key: 'W^2', f: (v) => v * v, zeroBias: false }),
  /** -W+ / -W- with their biases: ZBox's bound terms enter z (and the relevance) with a minus sign. */
  negatedPositive: (): ParamMod => ({ key: '-W+', f: (v) => -positive(v), zeroBias: false }),
  negatedNegative: (): ParamMod => ({ key: '-W-', f: (v) => -negative(v), zeroBias: false }),
};

interface Cache { res: GpuResources; weights: Map<string, ConvWeights | DepthwiseWeights> }
const caches = new WeakMap<UploadedWeights, Cache>();

/** The node's weights under `mod` (its own uploaded weights when mod is undefined). */
export function modifiedWeights(res: GpuResources, uploaded: UploadedWeights, node: ConvNode | DepthwiseNode, mod: ParamMod | undefined): ConvWeights | DepthwiseWeights {
  if (!mod) return uploaded.get(node.id) as ConvWeights | DepthwiseWeights;
  const weights = upload(res, uploaded, node, mod);
  // The kernel and the bias are separate buffers: a zeroed bias is just a layer without one.
  return mod.zeroBias ? { ...weights, bias: undefined } : weights;
}

function upload(res: GpuResources, uploaded: UploadedWeights, node: ConvNode | DepthwiseNode, mod: ParamMod): ConvWeights | DepthwiseWeights {
  let cache = caches.get(uploaded);
  // Modified copies keep the precision the model's own conv/dense weights were stored in.
  if (!cache) caches.set(uploaded, (cache = { res: new GpuResources(res.gpu, [...uploaded.values()].some((w) => (w as ConvWeights).f16) ? 'f16' : 'f32'), weights: new Map() }));
  const key = `${node.id}:${mod.key}`;
  let weights = cache.weights.get(key);
  if (!weights) {
    const kernel = node.kernel.map(mod.f);
    const bias = node.bias?.map(mod.f);
    const label = `${node.kerasName} [${mod.key}]`;
    weights = node.op === 'conv2d'
      ? conv2dOp.upload!(cache.res, { ...node, kerasName: label, kernel, bias })
      : depthwiseOp.upload!(cache.res, { ...node, kerasName: label, kernel, bias });
    cache.weights.set(key, weights);
  }
  return weights;
}

/** Frees the modified copies made for a model's weights (called when the model is destroyed). */
export function releaseModifiedWeights(uploaded: UploadedWeights): void {
  caches.get(uploaded)?.res.destroy();
  caches.delete(uploaded);
}
