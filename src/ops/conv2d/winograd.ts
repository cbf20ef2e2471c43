import { sizeOf, type Activation, type ConvNode, type Shape } from '../../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../../gpu/resources.js';
import { activationDefines } from '../../gpu/shaders.js';
import { spatial } from '../types.js';
import { gemmDefines, gemmGrid, tiling } from './tiling.js';

/**
 * 3x3 stride-1 convolutions through Winograd F(2x2, 3x3) (winograd_slots.wgsl): each 2x2 block
 * of outputs costs 16 multiplies per channel pair instead of 36, in three passes per chunk of
 * tiles: the input transform, 16 GEMMs over channels (the tuned conv2d.wgsl /
 * conv2d_transposed.wgsl as 1x1 products, one dispatch for all slots), and the output transform
 * with the layer's epilogue. The kernel is transformed once, on the GPU (WinogradKernel); the
 * same transformed kernel serves the forward pass and the transposed (relevance) one. Fewer
 * than MIN_CHANNELS channels, or a small layer, leave the GEMMs too little to save.
 */
const MIN_CHANNELS = 16;
/** Below this many multiply-adds per sample the two extra dispatches cost more than they save. */
const MIN_MACS = 2 ** 20;
const SLOTS = 16;
/**
 * Bytes of each of the two scratch buffers (transformed tiles, slot products) of a plan: fixed,
 * so that every layer's chunks fit the same two buffers (a plan holds 8 MiB for all its
 * Winograd layers); smaller layers ask for what they need.
 */
const SCRATCH_BYTES = 4 * 1024 * 1024;

const weightBytes = (res: GpuResources) => (res.weightPrecision === 'f16' ? 2 : 4);
const scratchBytes = (res: GpuResources) => Math.min(SCRATCH_BYTES, res.gpu.limits.maxStorageBufferBindingSize);

/**
 * Whether the layer's kernel shape takes the Winograd path: its transformed kernel fits one
 * binding (so its 9/16 as large kernel is one chunk) and one tile's slots fit the scratch.
 */
export function winogradApplies(res: GpuResources, node: ConvNode): boolean {
  const w = node.window;
  return !node.dense && w.kernel[0] === 3 && w.kernel[1] === 3 && w.strides[0] === 1 && w.strides[1] === 1 && w.dilation[0] === 1 && w.dilation[1] === 1
    && w.pads.every((p) => p <= 2) && node.inChannels % 4 === 0 && node.outChannels % 4 === 0
    && node.inChannels >= MIN_CHANNELS && node.outChannels >= MIN_CHANNELS
    && sizeOf(node.shape) * 9 * node.inChannels >= MIN_MACS
    && SLOTS * node.inChannels * node.outChannels * weightBytes(res) <= res.gpu.limits.maxStorageBufferBindingSize
    && SLOTS * Math.max(node.inChannels, node.outChannels) * 4 <= scratchBytes(res);
}

/**
 * The transformed kernel U[slot][c_in][c_out] = G g G^T of every channel pair, made on the GPU
 * the first time a pass needs it (like a pipeline; loading a model stays a read and an upload).
 */
export class WinogradKernel {
  private transformed?: Promise<GPUBuffer>;

  /** Stored in half precision, as the layer's kernel (LoadOptions.weightPrecision 'f16'). */
  readonly f16: boolean;

  /** `res`: the resources that own the layer's weights (U lives as long as they do). */
  constructor(private readonly res: GpuResources, private readonly node: ConvNode, private readonly weights: GPUBuffer) {
    this.f16 = res.weightPrecision === 'f16';
  }

  buffer(): Promise<GPUBuffer> {
    return (this.transformed ??= this.transform());
  }

  private async transform(): Promise<GPUBuffer> {
    const { res, node } = this;
    const count = node.inChannels * node.outChannels;
    const stream = res.stream(count);
    const pipeline = await res.pipeline('winograd_weights', { ...stream.defines, F16: this.f16 });
    const kernel = res.buffer(SLOTS * count * weightBytes(res), GPUBufferUsage.STORAGE, `${node.kerasName} winograd kernel`);
    const params = res.uniform([stream.units], `${node.kerasName} winograd kernel params`);
    const encoder = res.device.createCommandEncoder({ label: `${node.kerasName} winograd kernel` });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, res.bindGroup(pipeline, [this.weights, kernel, params], node.kerasName));
    pass.dispatchWorkgroups(...stream.workgroups);
    pass.end();
    res.device.queue.submit([encoder.finish()]);
    return kernel;
  }
}

/** One direction of the correlation: what the tiles read, what they write, and the epilogue. */
interface Direction {
  label: string;
  src: TensorRef;
  srcShape: [number, number, number];
  dst: TensorRef;
  dstShape: [number, number, number];
  pads: [number, number];
  flip: boolean;
  /** The forward layer's bias and activation, or the relevance message's multiply by `a`. */
  epilogue: { layer: { bias?: GPUBuffer; activation: Activation } } | { message: { act: TensorRef; accumulate: boolean } };
}

async function correlate(res: GpuResources, winograd: WinogradKernel, batch: number, d: Direction): Promise<Dispatch[]> {
  const kernel = await winograd.buffer();
  const [srcH, srcW, srcC] = d.srcShape;
  const [dstH, dstW, dstC] = d.dstShape;
  const tilesH = Math.ceil(dstH / 2);
  const tilesW = Math.ceil(dstW / 2);
  const tiles = batch * tilesH * tilesW;
  const slotBytes = SLOTS * 4;
  const scratch = scratchBytes(res);
  const chunk = Math.min(tiles, Math.floor(scratch / (slotBytes * Math.max(srcC, dstC))));
  const fixed = chunk < tiles;
  const transformedTiles = res.scratch(fixed ? scratch : chunk * slotBytes * srcC, 'winograd tiles');
  const slotProducts = res.scratch(fixed ? scratch : chunk * slotBytes * dstC, 'winograd products');
  const layer = 'layer' in d.epilogue ? d.epilogue.layer : undefined;
  const message = 'message' in d.epilogue ? d.epilogue.message : undefined;
  const inputPipeline = await res.pipeline('winograd_input', { ...res.stream(chunk * srcC).defines, FLIP: d.flip });
  const outputPipeline = await res.pipeline('winograd_output', {
    ...res.stream(chunk * dstC).defines, FLIP: d.flip, TIMES_ACT: !!message, ACCUMULATE: !!message?.accumulate,
    HAS_BIAS: !!layer?.bias, ...activationDefines(layer?.activation ?? { kind: 'linear' }),
  });
  const tile = layer ? tiling(chunk, dstC, 4) : tiling(chunk, dstC);
  const gemmPipeline = layer
    ? await res.pipeline('conv2d', { ...gemmDefines(tile), VEC_IN: true, WEIGHT_VEC: true, F16: winograd.f16, HAS_BIAS: false, ...activationDefines({ kind: 'linear' }) })
    : await res.pipeline('conv2d_transposed', { ...gemmDefines(tile), WEIGHT_VEC: true, F16: winograd.f16, PLUS: false, ACCUMULATE: false, SH: 1, SW: 1, TIMES_ACT: false, ALL_PHASES: false });

  const dispatches: Dispatch[] = [];
  for (let first = 0; first < tiles; first += chunk) {
    const count = Math.min(chunk, tiles - first);
    const transformed = { buffer: transformedTiles, offset: 0, size: count * slotBytes * srcC };
    const products = { buffer: slotProducts, offset: 0, size: count * slotBytes * dstC };
    const at = `${d.label} tiles ${first}+${count}`;
    const inputUnits = count * srcC / 4;
    dispatches.push({
      label: `${d.label} winograd input`, pipeline: inputPipeline, workgroups: res.stream(count * srcC).workgroups,
      bindGroup: res.bindGroup(inputPipeline, [d.src, transformed, res.uniform([inputUnits, srcC / 4, srcH, srcW, tilesH, tilesW, d.pads[0], d.pads[1], first, count], `${at} input params`)], d.label),
    });
    // The slot products as 1x1 convolutions of `count` pixels, one slice per slot.
    const gemmParams = layer
      ? [count, dstC, 1, count, srcC, 1, count, 1, 1, 1, 1, 1, 1, 0, 0, dstC, 0, count * srcC, srcC * dstC, count * dstC]
      : [1, dstC, 1, count, srcC, 1, count, 1, 1, 1, 1, 0, 0, srcC, 0, count * srcC, dstC * srcC, count * dstC, 0, 0];
    dispatches.push({
      label: `${d.label} winograd products`, pipeline: gemmPipeline, workgroups: gemmGrid(res, tile, count, dstC, d.label, SLOTS),
      bindGroup: res.bindGroup(gemmPipeline, [transformed, kernel, undefined, products, res.uniform(gemmParams, `${at} product params`)], d.label),
    });
    const outputParams = res.uniform([count * dstC / 4, dstC / 4, dstH, dstW, tilesH, tilesW, first, count], `${at} output params`);
    dispatches.push({
      label: `${d.label} winograd output`, pipeline: outputPipeline, workgroups: res.stream(count * dstC).workgroups,
      bindGroup: res.bindGroup(outputPipeline, [products, d.dst, outputParams, layer?.bias, message?.act], d.label),
    });
  }
  return dispatches;
}

/** The layer's forward pass: out = activation(bias + conv3x3(in)). */
export function winogradForward(res: GpuResources, node: ConvNode, winograd: WinogradKernel, inputShape: Shape, batch: number, io: { input: TensorRef; output: TensorRef }, bias: GPUBuffer | undefined, activation: Activation): Promise<Dispatch[]> {
  return correlate(res, winograd, batch, {
    label: node.kerasName, src: io.input, srcShape: spatial(inputShape), dst: io.output, dstShape: spatial(node.shape),
    pads: [node.window.pads[0], node.window.pads[2]], flip: false, epilogue: { layer: { bias, activation } },
  });
}

/**
 * The relevance message out (+)= a * (W^T R): the transposed convolution is the correlation of
 * R with the flipped kernel, padded by 2 - pad where the forward pass was padded by pad.
 */
export function winogradMessage(res: GpuResources, node: ConvNode, winograd: WinogradKernel, inputShape: Shape, batch: number, io: { rel: TensorRef; act: TensorRef; out: TensorRef }, accumulate: boolean): Promise<Dispatch[]> {
  return correlate(res, winograd, batch, {
    label: `${node.kerasName} relevance`, src: io.rel, srcShape: spatial(node.shape), dst: io.out, dstShape: spatial(inputShape),
    pads: [2 - node.window.pads[0], 2 - node.window.pads[2]], flip: true, epilogue: { message: { act: io.act, accumulate } },
  });
}
