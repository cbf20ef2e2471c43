import { GpuError } from '../../errors.js';
import type { ConvNode } from '../../graph/ir.js';
import type { Dispatch, GpuResources } from '../../gpu/resources.js';
import { activationDefines } from '../../gpu/shaders.js';
import { spatial, type ForwardOp } from '../types.js';
import { toHalf } from '../../gpu/half.js';
import { reusableBuffer } from '../../io/byte-reader.js';
import { RUN_VALUES, type Float32Source } from '../../io/float32-source.js';
import { gemmDefines, gemmGrid, productTiling } from './tiling.js';
import { WinogradKernel, winogradApplies, winogradForward } from './winograd.js';

/** Output channels [start, start + count) of a kernel, in a buffer of their own. */
export interface KernelChunk {
  buffer: GPUBuffer;
  start: number;
  count: number;
}

/**
 * Conv2D and Dense (a 1x1 convolution over the last axis) through one implicit-GEMM kernel,
 * or, for large 3x3 stride-1 layers, Winograd F(2x2, 3x3) (winograd.ts). Weights larger than
 * one storage binding (VGG16's fc1 is 392 MiB) are split along the output channels into chunks
 * that each fit; every chunk is its own dispatch.
 */
export interface ConvWeights {
  chunks: KernelChunk[];
  bias?: GPUBuffer;
  /** Kernel stored as f16 (LoadOptions.weightPrecision); the bias stays f32. */
  f16: boolean;
  /** The transformed kernel of a layer that runs as Winograd F(2x2, 3x3) (winograd.ts). */
  winograd?: WinogradKernel;
}

/** A chunk's columns of a run of the kernel's rows, gathered into memory that is reused. */
const gatherBuffer = reusableBuffer();

/**
 * Writes the [rows][cols] kernel into one [rows][count] buffer per chunk of output channels
 * [start, start + count), reading it once, a run of whole rows at a time: a chunk that is the
 * whole kernel takes each run as it is, a narrower one gathers its columns from the run. A kernel
 * still in the file is never held whole in host memory, and fresh host memory is what uploads
 * spend their time on.
 */
function uploadKernel(res: GpuResources, kernel: Float32Source, cols: number, chunks: readonly KernelChunk[], f16: boolean): void {
  const rows = kernel.length / cols;
  const bytes = f16 ? 2 : 4;
  // About RUN_VALUES values per run; an even number of rows keeps every run's offset a multiple
  // of 4 bytes in f16.
  const runRows = Math.min(rows, 2 * Math.max(1, Math.floor(RUN_VALUES / (2 * cols))));
  const widest = Math.max(0, ...chunks.filter((c) => c.count < cols).map((c) => c.count));
  const gather = new Float32Array(gatherBuffer(4 * runRows * widest), 0, runRows * widest);
  kernel.forEachRun(runRows * cols, (run, start) => {
    const first = start / cols;
    const runLength = run.length / cols;
    for (const chunk of chunks) {
      let data = run;
      if (chunk.count < cols) {
        data = gather.subarray(0, runLength * chunk.count);
        for (let row = 0; row < runLength; row++) data.set(run.subarray(row * cols + chunk.start, row * cols + chunk.start + chunk.count), row * chunk.count);
      }
      res.write(chunk.buffer, first * chunk.count * bytes, f16 ? toHalf(data) : data);
    }
  });
}

function uploadConv(res: GpuResources, node: ConvNode): ConvWeights {
  const k = node.kernel.length / node.outChannels;
  const n = node.outChannels;
  const f16 = res.weightPrecision === 'f16';
  if (f16 && !res.gpu.hasF16) throw new GpuError(`f16 weights need the adapter feature 'shader-f16', which ${res.gpu.adapter} lacks; load with weightPrecision 'f32'`);
  const bytes = f16 ? 2 : 4;
  const maxBinding = res.gpu.limits.maxStorageBufferBindingSize;
  let perChunk = Math.floor(maxBinding / (k * bytes));
  if (perChunk < 1) throw new GpuError(`layer '${node.kerasName}': one output channel's weights (${k * bytes} bytes) exceed the adapter's storage binding limit (${maxBinding})`);
  if (perChunk < n) perChunk = Math.max(4, perChunk - (perChunk % 4));
  const chunks: KernelChunk[] = [];
  for (let start = 0; start < n; start += perChunk) {
    const count = Math.min(perChunk, n - start);
    chunks.push({ buffer: res.buffer(k * count * bytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, `${node.kerasName} kernel[${start}:${start + count}]`), start, count });
  }
  uploadKernel(res, node.kernel, n, chunks, f16);
  const winograd = winogradApplies(res, node) ? new WinogradKernel(res, node, chunks[0].buffer) : undefined;
  return { chunks, bias: node.bias ? res.constants(node.bias, `${node.kerasName} bias`) : undefined, f16, winograd };
}

export const conv2dOp: ForwardOp<ConvNode, ConvWeights> = {
  fusesActivation: true,
  upload: uploadConv,
  async record({ res, node, inputs, inputShapes, output, batch, activation, weights }) {
    if (weights.winograd) return winogradForward(res, node, weights.winograd, inputShapes[0], batch, { input: inputs[0], output }, weights.bias, activation);
    const [inH, inW, inC] = spatial(inputShapes[0]);
    const [outH, outW, outC] = spatial(node.shape);
    const m = batch * outH * outW;
    const w = node.window;
    const dispatches: Dispatch[] = [];
    for (const chunk of weights.chunks) {
      const vecOut = chunk.count % 4 === 0;
      const tile = productTiling(res, m, chunk.count, inC % 4 === 0 ? inC / 4 : inC, vecOut ? 4 : 1);
      const pipeline = await res.pipeline('conv2d', { ...gemmDefines(tile), VEC_IN: inC % 4 === 0, WEIGHT_VEC: vecOut, F16: weights.f16, HAS_BIAS: !!weights.bias, ...activationDefines(activation) });
      const params = res.uniform([
        m, chunk.count, inH, inW, inC, outH, outW, w.kernel[0], w.kernel[1], w.strides[0], w.strides[1], w.dilation[0], w.dilation[1], w.pads[0], w.pads[2], outC, chunk.start,
      ], `${node.kerasName} params`);
      dispatches.push({
        label: node.kerasName, pipeline, workgroups: gemmGrid(res, tile, m, chunk.count, node.kerasName),
        bindGroup: res.bindGroup(pipeline, [inputs[0], chunk.buffer, weights.bias, output, params], node.kerasName),
      });
    }
    return dispatches;
  },
};
