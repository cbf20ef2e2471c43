import type { AffineNode } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import { WG } from '../types.js';
import type { AffineWeights } from './index.js';

type Mode = 'AFFINE' | 'ADD_SPLIT' | 'POSITIVE_SUM';

async function message(res: GpuResources, label: string, mode: Mode, flags: { plus: boolean; ratio: boolean }, count: number, params: [number, number], resources: (GPUBuffer | TensorRef | undefined)[]): Promise<Dispatch> {
  const pipeline = await res.pipeline('relevance_elementwise', { WG, AFFINE: mode === 'AFFINE', ADD_SPLIT: mode === 'ADD_SPLIT', POSITIVE_SUM: mode === 'POSITIVE_SUM', PLUS: flags.plus, RATIO: flags.ratio });
  const [rel, act, out, extra] = resources;
  const uniform = res.uniform([count, ...params], `${label} params`);
  return { label, pipeline, workgroups: res.grid(count, WG), bindGroup: res.bindGroup(pipeline, [rel, act, out, uniform, extra], label) };
}

/** out = a * w' * R for an element-wise linear layer (w' = w, or max(a*w, 0)/a with `plus`). */
export function affineMessage(res: GpuResources, node: AffineNode, weights: AffineWeights, count: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef }, plus: boolean): Promise<Dispatch> {
  return message(res, `${node.kerasName} relevance`, 'AFFINE', { plus, ratio: false }, count, [node.scale.length, 0], [io.rel, io.act, io.out, weights.scale]);
}

/** out = share(u_k) * R for one Add operand; `total` is y (ratio) or sum_k u_k+ (plus). */
export function addSplitMessage(res: GpuResources, label: string, count: number, operands: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef; total?: TensorRef }, flags: { plus: boolean; ratio: boolean }): Promise<Dispatch> {
  return message(res, `${label} relevance split`, 'ADD_SPLIT', flags, count, [1, operands], [io.rel, io.act, io.out, io.total]);
}

/** out += max(u, 0): builds sum_k u_k+ in a zeroed buffer. */
export function positiveSum(res: GpuResources, label: string, count: number, u: TensorRef, out: TensorRef): Promise<Dispatch> {
  return message(res, `${label} positive sum`, 'POSITIVE_SUM', { plus: false, ratio: false }, count, [1, 0], [undefined, u, out]);
}
