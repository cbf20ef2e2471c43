import { GpuError } from '../../errors.js';
import type { ConvNode } from '../../graph/ir.js';
import type { Dispatch, GpuResources } from '../../gpu/resources.js';
import { activationDefines } from '../../gpu/shaders.js';
import { spatial, type ForwardOp } from '../types.js';

/**
 * Conv2D and Dense (a 1x1 convolution over the last axis) through one implicit-GEMM kernel.
 * Weights larger than one storage binding (VGG16's fc1 is 392 MiB) are split along the
 * output channels into chunks that each fit; every chunk is its own dispatch.
 */
export interface ConvWeights {
  chunks: { buffer: GPUBuffer; start: number; count: number }[];
  bias?: GPUBuffer;
}

interface Tiling { TM: number; TN: number; WGM: number; WGN: number; BK: number }

/**
 * Wide tiles for many output pixels; a GEMV-like shape for dense layers on small batches.
 * 8x8 outputs per thread, 64 threads and K steps of 32 ran ~1.6x faster on lavapipe than
 * 4x4 x 256 threads x 8 (VGG-sized layers): fewer barriers and more FMAs per shared load.
 */
function tiling(m: number): Tiling {
  if (m >= 64) return { TM: 8, TN: 8, WGM: 8, WGN: 8, BK: 32 };
  return { TM: Math.min(8, m), TN: 4, WGM: 1, WGN: 64, BK: 16 };
}

function uploadConv(res: GpuResources, node: ConvNode): ConvWeights {
  const k = node.kernel.length / node.outChannels;
  const n = node.outChannels;
  const maxBinding = res.gpu.limits.maxStorageBufferBindingSize;
  let perChunk = Math.floor(maxBinding / (k * 4));
  if (perChunk < 1) throw new GpuError(`layer '${node.kerasName}': one output channel's weights (${k * 4} bytes) exceed the adapter's storage binding limit (${maxBinding})`);
  if (perChunk < n) perChunk = Math.max(4, perChunk - (perChunk % 4));
  const chunks = [];
  for (let start = 0; start < n; start += perChunk) {
    const count = Math.min(perChunk, n - start);
    let data = node.kernel;
    if (count !== n) {
      // Gather columns [start, start+count) of the [K][N] kernel into a [K][count] block.
      data = new Float32Array(k * count);
      for (let row = 0; row < k; row++) data.set(node.kernel.subarray(row * n + start, row * n + start + count), row * count);
    }
    chunks.push({ buffer: res.constants(data, `${node.kerasName} kernel[${start}:${start + count}]`), start, count });
  }
  return { chunks, bias: node.bias ? res.constants(node.bias, `${node.kerasName} bias`) : undefined };
}

export const conv2dOp: ForwardOp<ConvNode, ConvWeights> = {
  fusesActivation: true,
  upload: uploadConv,
  async record({ res, node, inputs, inputShapes, output, batch, activation, weights }) {
    const [inH, inW, inC] = spatial(inputShapes[0]);
    const [outH, outW, outC] = spatial(node.shape);
    const m = batch * outH * outW;
    const k = node.window.kernel[0] * node.window.kernel[1] * inC;
    const tile = tiling(m);
    const pipeline = await res.pipeline('conv2d', { ...tile, HAS_BIAS: !!weights.bias, ...activationDefines(activation) });
    const dispatches: Dispatch[] = [];
    for (const chunk of weights.chunks) {
      const w = node.window;
      const params = res.uniform([
        m, chunk.count, k, inH, inW, inC, outH, outW, w.kernel[1], w.strides[0], w.strides[1], w.dilation[0], w.dilation[1], w.pads[0], w.pads[2], outC, chunk.start,
      ], `${node.kerasName} params`);
      const workgroups: [number, number, number] = [Math.ceil(chunk.count / (tile.TN * tile.WGN)), Math.ceil(m / (tile.TM * tile.WGM)), 1];
      if (workgroups[1] > res.gpu.limits.maxComputeWorkgroupsPerDimension) throw new GpuError(`layer '${node.kerasName}': ${m} output pixels exceed one dispatch; use a smaller batch`);
      dispatches.push({
        label: node.kerasName, pipeline, workgroups,
        bindGroup: res.bindGroup(pipeline, [inputs[0], chunk.buffer, weights.bias, output, params], node.kerasName),
      });
    }
    return dispatches;
  },
};
