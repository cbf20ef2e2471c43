import type { ConvNode, Shape } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import type { StatsBuffer } from '../../explain/stats.js';
import { spatial } from '../types.js';
import type { ConvWeights } from './index.js';
import { gemmDefines, gemmGrid, productTiling } from './tiling.js';
import { winogradMessage } from './winograd.js';

/**
 * out (+)= a * (W'^T R) for Conv2D/Dense (W' = W, or its sign-matched part with `plus`):
 * conv2d_transposed.wgsl, one dispatch per weight chunk (each sums over its own output
 * channels; later chunks accumulate). `weights` may be a rule's modified copy; `accumulate`
 * adds to out.
 */
export async function convMessage(res: GpuResources, node: ConvNode, weights: ConvWeights, inputShape: Shape, batch: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef }, plus: boolean, accumulate = false): Promise<Dispatch[]> {
  // R-LRP+'s sign-matched kernel depends on a, which Winograd's transformed kernel cannot follow.
  if (weights.winograd && !plus) return winogradMessage(res, node, weights.winograd, inputShape, batch, io, accumulate);
  const [inH, inW, inC] = spatial(inputShape);
  const [outH, outW, outC] = spatial(node.shape);
  const w = node.window;
  // Strided layers run one grid slice per phase (workgroup z); m counts the largest phase's rows (phase 0).
  const [sh, sw] = w.strides;
  const m = batch * Math.ceil(inH / sh) * Math.ceil(inW / sw);
  // Only phases some tap reaches get a slice (a kernel smaller than its stride, as ResNet's 1x1
  // stride-2 convolutions, reaches one in four); where the result is stored rather than added,
  // the first chunk's dispatch gives the others slices that store zeros (ALL_PHASES).
  const slices = Math.min(w.kernel[0], sh) * Math.min(w.kernel[1], sw);
  const dispatches: Dispatch[] = [];
  const zeroPhases = slices < sh * sw && !accumulate;
  for (const [i, chunk] of weights.chunks.entries()) {
    const allPhases = zeroPhases && i === 0;
    const weightVec = chunk.count % 4 === 0 && outC % 4 === 0 && chunk.start % 4 === 0;
    // The sum runs over this chunk's output channels, read as vectors of WEIGHT_VEC's width.
    const tile = productTiling(res, m, inC, weightVec ? chunk.count / 4 : chunk.count);
    const pipeline = await res.pipeline('conv2d_transposed', {
      ...gemmDefines(tile), WEIGHT_VEC: weightVec, F16: weights.f16, PLUS: plus, ACCUMULATE: accumulate || i > 0, SH: w.strides[0], SW: w.strides[1], TIMES_ACT: true, ALL_PHASES: allPhases,
    });
    const params = res.uniform([
      batch, inC, outH, outW, chunk.count, inH, inW, w.kernel[0], w.kernel[1], w.dilation[0], w.dilation[1], w.pads[0], w.pads[2], outC, chunk.start, 0, 0, 0,
    ], `${node.kerasName} relevance params`);
    dispatches.push({
      label: `${node.kerasName} relevance`, pipeline, workgroups: gemmGrid(res, tile, m, inC, node.kerasName, allPhases ? sh * sw : slices),
      bindGroup: res.bindGroup(pipeline, [io.rel, chunk.buffer, io.act, io.out, params], node.kerasName),
    });
  }
  return dispatches;
}

/**
 * R-LRP's seed and first step in one dispatch of one workgroup per sample
 * (rlrp_seed_dense.wgsl), for logits from a Dense layer on a vector: the target's one-hot into
 * `io.seed` (targets as seed.wgsl picks them), then a * W[:, t] (`plus`: sign-matched) rescaled
 * to L1 norm 1 into `io.out`, the input's whole relevance.
 */
export async function seededDenseStep(res: GpuResources, stats: StatsBuffer, node: ConvNode, io: { logits: TensorRef; targets: GPUBuffer; seed: TensorRef; kernel: GPUBuffer; act: TensorRef; out: TensorRef }, slots: { seedSlot: number; reportSlot?: number }, flags: { plus: boolean; f16: boolean }): Promise<Dispatch> {
  const stream = res.stream(node.inChannels, false, stats.batch);
  const pipeline = await res.pipeline('rlrp_seed_dense', { WG: stream.defines.WG, WEIGHT_VEC: false, F16: flags.f16, PLUS: flags.plus, REPORT: slots.reportSlot !== undefined });
  const params = res.uniform([node.outChannels, node.inChannels, stats.slots, slots.seedSlot, slots.reportSlot ?? 0, 0, 0, 0], `${node.kerasName} seed params`);
  return {
    label: `${node.kerasName} relevance`, pipeline, workgroups: [1, stats.batch, 1],
    bindGroup: res.bindGroup(pipeline, [io.logits, io.targets, io.seed, stats.buffer, io.kernel, io.act, io.out, params], node.kerasName),
  };
}
