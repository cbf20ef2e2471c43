import type { Activation, ActivationNode, AddNode, AffineNode } from '../../graph/ir.js';
import { sizeOf } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import { activationDefines } from '../../gpu/shaders.js';
import type { ForwardOp } from '../types.js';

type Mode = 'activation' | 'affine' | 'add' | 'accumulate';

async function elementwise(res: GpuResources, label: string, mode: Mode, activation: Activation, total: number, channels: number, resources: (GPUBuffer | TensorRef)[]): Promise<Dispatch> {
  // Per-channel constants are read as vec4 too, so channels must come in fours for that.
  const stream = res.stream(total, mode !== 'affine' || channels % 4 === 0);
  const pipeline = await res.pipeline('elementwise', { ...stream.defines, AFFINE: mode === 'affine', ADD: mode === 'add', ACCUMULATE: mode === 'accumulate', ...activationDefines(activation) });
  const [input, output, ...extra] = resources;
  const params = res.uniform([stream.units, mode === 'affine' && stream.defines.VEC ? channels / 4 : channels], `${label} params`);
  return { label, pipeline, workgroups: stream.workgroups, bindGroup: res.bindGroup(pipeline, [input, output, params, ...extra], label) };
}

/** dst = act(src) over `total` values. */
export function applyActivation(res: GpuResources, label: string, total: number, activation: Activation, src: TensorRef, dst: TensorRef): Promise<Dispatch> {
  return elementwise(res, label, 'activation', activation, total, 1, [src, dst]);
}

/** dst += src over `total` values (relevance passing through a layer unchanged). */
export function accumulateInto(res: GpuResources, label: string, total: number, src: TensorRef, dst: TensorRef): Promise<Dispatch> {
  return elementwise(res, label, 'accumulate', { kind: 'linear' }, total, 1, [src, dst]);
}

export const activationOp: ForwardOp<ActivationNode> = {
  fusesActivation: false,
  async record({ res, node, inputs, output, batch }) {
    return [await elementwise(res, node.kerasName, 'activation', node.activation, batch * sizeOf(node.shape), 1, [inputs[0], output])];
  },
};

export interface AffineWeights { scale: GPUBuffer; shift: GPUBuffer }

export const affineOp: ForwardOp<AffineNode, AffineWeights> = {
  fusesActivation: true,
  upload: (res, node) => ({ scale: res.constants(node.scale, `${node.kerasName} scale`), shift: res.constants(node.shift, `${node.kerasName} shift`) }),
  async record({ res, node, inputs, output, batch, activation, weights }) {
    return [await elementwise(res, node.kerasName, 'affine', activation, batch * sizeOf(node.shape), node.scale.length, [inputs[0], output, weights.scale, weights.shift])];
  },
};

/** y = u_1 + u_2 (+ u_3 ...): one two-operand dispatch, then one accumulating dispatch per further operand. */
export const addOp: ForwardOp<AddNode> = {
  fusesActivation: true,
  async record({ res, node, inputs, output, batch, activation }) {
    const total = batch * sizeOf(node.shape);
    const last = inputs.length - 1;
    const linear: Activation = { kind: 'linear' };
    const dispatches = [await elementwise(res, node.kerasName, 'add', last === 1 ? activation : linear, total, 1, [inputs[0], output, inputs[1]])];
    for (let k = 2; k <= last; k++) dispatches.push(await elementwise(res, node.kerasName, 'accumulate', k === last ? activation : linear, total, 1, [inputs[k], output]));
    return dispatches;
  },
};
