import type { Activation, AffineNode } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import { activationDefines, f32Literal } from '../../gpu/shaders.js';
import type { AffineWeights } from './index.js';

type Mode = 'AFFINE' | 'ADD_SPLIT' | 'POSITIVE_SUM';

interface Flags { plus: boolean; ratio: boolean; accumulate?: boolean }

async function message(res: GpuResources, label: string, mode: Mode, flags: Flags, count: number, params: [number, number], resources: (GPUBuffer | TensorRef | undefined)[]): Promise<Dispatch> {
  // params[0] counts channels of per-channel constants, read as vec4 too when they come in fours.
  const stream = res.stream(count, mode !== 'AFFINE' || params[0] % 4 === 0);
  const pipeline = await res.pipeline('relevance_elementwise', {
    ...stream.defines, AFFINE: mode === 'AFFINE', ADD_SPLIT: mode === 'ADD_SPLIT', POSITIVE_SUM: mode === 'POSITIVE_SUM', PLUS: flags.plus, RATIO: flags.ratio, ACCUMULATE: flags.accumulate ?? false,
  });
  const [rel, act, out, extra] = resources;
  const uniform = res.uniform([stream.units, mode === 'AFFINE' && stream.defines.VEC ? params[0] / 4 : params[0], params[1]], `${label} params`);
  return { label, pipeline, workgroups: stream.workgroups, bindGroup: res.bindGroup(pipeline, [rel, act, out, uniform, extra], label) };
}

/** out (+)= a * w' * R for an element-wise linear layer (w' = w, or max(a*w, 0)/a with `plus`). */
export function affineMessage(res: GpuResources, node: AffineNode, weights: AffineWeights, count: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef }, plus: boolean, accumulate = false): Promise<Dispatch> {
  return message(res, `${node.kerasName} relevance`, 'AFFINE', { plus, ratio: false, accumulate }, count, [node.scale.length, 0], [io.rel, io.act, io.out, weights.scale]);
}

/** out = share(u_k) * R for one Add operand; `total` is y (ratio) or sum_k u_k+ (plus). */
export function addSplitMessage(res: GpuResources, label: string, count: number, operands: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef; total?: TensorRef }, flags: { plus: boolean; ratio: boolean }): Promise<Dispatch> {
  return message(res, `${label} relevance split`, 'ADD_SPLIT', flags, count, [1, operands], [io.rel, io.act, io.out, io.total]);
}

/** out (+)= a * R element by element (an Add operand's share u_k * s, or input x gradient). */
export function productMessage(res: GpuResources, label: string, count: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef }, accumulate: boolean): Promise<Dispatch> {
  return message(res, label, 'ADD_SPLIT', { plus: false, ratio: false, accumulate }, count, [1, 1], [io.rel, io.act, io.out]);
}

/** out += max(u, 0): builds sum_k u_k+ in a zeroed buffer. */
export function positiveSum(res: GpuResources, label: string, count: number, u: TensorRef, out: TensorRef): Promise<Dispatch> {
  return message(res, `${label} positive sum`, 'POSITIVE_SUM', { plus: false, ratio: false }, count, [1, 0], [undefined, u, out]);
}

/** Input modifiers of the classical rules: out = max(x, 0), min(x, 0), or 1 (no x); 'zeros' clears out. */
export async function inputModifier(res: GpuResources, label: string, count: number, mode: 'positive' | 'negative' | 'ones' | 'zeros', x: TensorRef | undefined, out: TensorRef): Promise<Dispatch> {
  const stream = res.stream(count);
  const fill = mode === 'ones' || mode === 'zeros';
  const pipeline = await res.pipeline('input_modifier', { ...stream.defines, POSITIVE: mode === 'positive', FILL: fill, FILL_VALUE: mode === 'ones' ? '1.0' : '0.0' });
  const params = res.uniform([stream.units], `${label} ${mode} params`);
  return { label: `${label} ${mode}`, pipeline, workgroups: stream.workgroups, bindGroup: res.bindGroup(pipeline, [out, params, fill ? undefined : x], label) };
}

/**
 * out = scale * R / (z + eps * sign(z)) with sign(0) = +1 and z the sum of up to three forward
 * outputs; with `mask`, kept only where mask.value is > 0 ('positive') or < 0 ('negative').
 */
export async function stabilisedDivide(res: GpuResources, label: string, count: number, io: { rel: TensorRef; z: TensorRef[]; out: TensorRef; mask?: { value: TensorRef; sign: 'positive' | 'negative' } }, eps: number, scale: number): Promise<Dispatch> {
  if (io.z.length < 1 || io.z.length > 3) throw new Error(`${label}: the stabilised division sums 1 to 3 forward outputs, got ${io.z.length}`);
  const stream = res.stream(count);
  const pipeline = await res.pipeline('relevance_divide', {
    ...stream.defines, Z1: io.z.length > 1, Z2: io.z.length > 2, MASK: !!io.mask, MASK_POSITIVE: io.mask?.sign === 'positive', EPS: f32Literal(eps), SCALE: f32Literal(scale),
  });
  const params = res.uniform([stream.units], `${label} division params`);
  return {
    label: `${label} division`, pipeline, workgroups: stream.workgroups,
    bindGroup: res.bindGroup(pipeline, [io.rel, io.z[0], io.out, params, io.z[1], io.z[2], io.mask?.value], label),
  };
}

/** out += act'(pre) * g: the gradient through an activation node. */
export async function activationGradient(res: GpuResources, label: string, count: number, activation: Activation, io: { rel: TensorRef; pre: TensorRef; out: TensorRef }): Promise<Dispatch> {
  if (activation.kind === 'softmax') throw new Error(`${label}: a softmax inside the network has no element-wise gradient`);
  const stream = res.stream(count);
  const pipeline = await res.pipeline('activation_grad', { ...stream.defines, ...activationDefines(activation) });
  const params = res.uniform([stream.units], `${label} gradient params`);
  return { label: `${label} gradient`, pipeline, workgroups: stream.workgroups, bindGroup: res.bindGroup(pipeline, [io.rel, io.pre, io.out, params], label) };
}
