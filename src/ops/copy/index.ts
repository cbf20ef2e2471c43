import type { ConcatNode, PadNode } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import { spatial, type ForwardOp } from '../types.js';

/** An H x W x C region copy between two NHWC tensors (see shaders/copy_region.wgsl). */
export interface RegionCopy {
  region: [number, number, number];
  src: { shape: [number, number, number]; channel: number; top: number; left: number };
  dst: { shape: [number, number, number]; channel: number; top: number; left: number };
  accumulate: boolean;
}

export async function copyRegion(res: GpuResources, label: string, batch: number, copy: RegionCopy, src: TensorRef, dst: TensorRef): Promise<Dispatch> {
  const [h, w, c] = copy.region;
  // Four channels at a time when every channel size and offset allows it.
  const channels = [c, copy.src.shape[2], copy.dst.shape[2], copy.src.channel, copy.dst.channel];
  const stream = res.stream(batch * h * w * c, channels.every((v) => v % 4 === 0));
  const inValues = (v: number) => (stream.defines.VEC ? v / 4 : v);
  const pipeline = await res.pipeline('copy_region', { ...stream.defines, ACCUMULATE: copy.accumulate });
  // srcTop/srcLeft are signed: a negative offset reads the zero border (padding).
  const signed = (v: number) => (v < 0 ? v + 2 ** 32 : v);
  const [srcH, srcW, srcC] = copy.src.shape;
  const [dstH, dstW, dstC] = copy.dst.shape;
  const params = res.uniform([
    stream.units, h, w, inValues(c), srcH, srcW, inValues(srcC), inValues(copy.src.channel), dstH, dstW, inValues(dstC), inValues(copy.dst.channel),
    signed(copy.src.top), signed(copy.src.left), copy.dst.top, copy.dst.left,
  ], `${label} params`);
  return { label, pipeline, workgroups: stream.workgroups, bindGroup: res.bindGroup(pipeline, [src, dst, params], label) };
}

/** Concatenate: each input is copied into its channel slice of the output. */
export const concatOp: ForwardOp<ConcatNode> = {
  fusesActivation: false,
  async record({ res, node, inputs, inputShapes, output, batch }) {
    const out = spatial(node.shape);
    const dispatches: Dispatch[] = [];
    let channel = 0;
    for (let k = 0; k < inputs.length; k++) {
      const shape = spatial(inputShapes[k]);
      dispatches.push(await copyRegion(res, node.kerasName, batch, {
        region: shape, src: { shape, channel: 0, top: 0, left: 0 }, dst: { shape: out, channel, top: 0, left: 0 }, accumulate: false,
      }, inputs[k], output));
      channel += shape[2];
    }
    return dispatches;
  },
};

/** ZeroPadding2D: the output is a region read from the input shifted by (top, left); outside reads 0. */
export const padOp: ForwardOp<PadNode> = {
  fusesActivation: false,
  async record({ res, node, inputs, inputShapes, output, batch }) {
    const out = spatial(node.shape);
    return [await copyRegion(res, node.kerasName, batch, {
      region: out, src: { shape: spatial(inputShapes[0]), channel: 0, top: -node.pads[0], left: -node.pads[2] },
      dst: { shape: out, channel: 0, top: 0, left: 0 }, accumulate: false,
    }, inputs[0], output)];
  },
};
