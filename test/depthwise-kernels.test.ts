import { afterAll, describe, expect, it } from 'vitest';
import { buildGraph } from '../src/graph/build.js';
import { sizeOf, type DepthwiseNode, type Graph } from '../src/graph/ir.js';
import { GpuResources, type Dispatch, type TensorRef } from '../src/gpu/resources.js';
import { encodeDispatches } from '../src/gpu/timer.js';
import { depthwiseDefines, depthwiseOp } from '../src/ops/depthwise/index.js';
import { depthwiseMessage } from '../src/ops/depthwise/relevance.js';
import { referenceForward } from '../src/reference/forward.js';
import { testGpu } from './helpers/gpu.js';
import { randomArray, rng, SyntheticModel } from './helpers/synthetic.js';

// The DepthwiseConv2D kernels on their own, against float64 loops, on shapes around their
// tiling: vec4 and scalar channels, depth multipliers, strides with 'same' and 'valid' padding
// (stride phases with several taps, one, or none; pixels no window covers), dilation, even and
// asymmetric kernels, heights and widths that no thread block divides, batch > 1. The forward
// kernel is checked against src/reference/forward.ts; the relevance / gradient message
// out (+)= a * (W'^T R) in every mode against the scatter form of the transposed convolution
// (the GPU gathers). Tolerance: max |gpu - ref| <= 1e-5 * max |ref|.

type Case = { name: string; batch: number; input: [number, number, number]; layer: Record<string, unknown>; vec: boolean };

const CASES: Case[] = [
  { name: '3x3 same, 13x11x8 (MobileNet stride 1)', batch: 2, input: [13, 11, 8], layer: { kernel_size: [3, 3], padding: 'same' }, vec: true },
  { name: '3x3 stride 2 same, 9x10x12 (MobileNet stride 2)', batch: 3, input: [9, 10, 12], layer: { kernel_size: [3, 3], strides: [2, 2], padding: 'same' }, vec: true },
  { name: '3x3 stride 2 valid, 8x7x4 (uncovered last row and column)', batch: 2, input: [8, 7, 4], layer: { kernel_size: [3, 3], strides: [2, 2], padding: 'valid' }, vec: true },
  { name: '5x5 dilation 2 same, 9x9x8', batch: 1, input: [9, 9, 8], layer: { kernel_size: [5, 5], dilation_rate: [2, 2], padding: 'same' }, vec: true },
  { name: '1x1 stride 2 valid, 5x6x4 (phases without taps)', batch: 2, input: [5, 6, 4], layer: { kernel_size: [1, 1], strides: [2, 2], padding: 'valid' }, vec: true },
  { name: '2x3 strides (2, 1) same, 7x9x4 (even, asymmetric)', batch: 2, input: [7, 9, 4], layer: { kernel_size: [2, 3], strides: [2, 1], padding: 'same' }, vec: true },
  { name: '3x3 stride 2 same, 6 channels (scalar)', batch: 2, input: [9, 7, 6], layer: { kernel_size: [3, 3], strides: [2, 2], padding: 'same' }, vec: false },
  { name: '3x3 same, multiplier 2 on 4 channels (scalar)', batch: 2, input: [6, 9, 4], layer: { kernel_size: [3, 3], padding: 'same', depth_multiplier: 2 }, vec: false },
  { name: '2x2 stride 3 valid, multiplier 3 on 3 channels (stride > kernel)', batch: 2, input: [11, 10, 3], layer: { kernel_size: [2, 2], strides: [3, 3], padding: 'valid', depth_multiplier: 3 }, vec: false },
];

const MODES = [
  { plus: false, accumulate: false },
  { plus: true, accumulate: false },
  { plus: false, accumulate: true },
  { plus: true, accumulate: true },
];

function depthwiseGraph(c: Case, seed: number): { graph: Graph; node: DepthwiseNode } {
  const m = new SyntheticModel(rng(seed));
  const multiplier = (c.layer.depth_multiplier as number | undefined) ?? 1;
  const [kh, kw] = c.layer.kernel_size as number[];
  const out = m.layer('DepthwiseConv2D', { activation: 'relu', use_bias: true, ...c.layer }, [m.input(c.input)], { kernel: [kh, kw, c.input[2], multiplier], bias: [c.input[2] * multiplier] });
  const graph = buildGraph(m.build(out));
  return { graph, node: graph.nodes.find((n): n is DepthwiseNode => n.op === 'depthwise')! };
}

/** The message in scatter form: every output value sends a * W' * R to the inputs of its window. */
function referenceMessage(node: DepthwiseNode, input: number[], batch: number, rel: Float32Array, act: Float32Array, out: Float32Array, plus: boolean, accumulate: boolean): Float64Array {
  const [inH, inW, c] = input;
  const [outH, outW] = node.shape;
  const m = node.multiplier;
  const { kernel: [kh, kw], strides: [sh, sw], dilation: [dh, dw], pads: [padTop, , padLeft] } = node.window;
  const result = accumulate ? Float64Array.from(out) : new Float64Array(out.length);
  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        for (let ci = 0; ci < c; ci++) {
          for (let j = 0; j < m; j++) {
            const r = rel[((n * outH + oy) * outW + ox) * c * m + ci * m + j];
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * sh + ky * dh - padTop;
                const ix = ox * sw + kx * dw - padLeft;
                if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
                const at = ((n * inH + iy) * inW + ix) * c + ci;
                const w = node.kernel.values()[((ky * kw + kx) * c + ci) * m + j];
                const signed = !plus ? w : act[at] >= 0 ? Math.max(w, 0) : Math.min(w, 0);
                result[at] += act[at] * signed * r;
              }
            }
          }
        }
      }
    }
  }
  return result;
}

function expectClose(gpu: Float32Array, ref: Float64Array): void {
  expect(gpu.length).toBe(ref.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(gpu[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  expect(scale).toBeGreaterThan(0);
  expect(diff / scale).toBeLessThanOrEqual(1e-5);
}

describe('depthwise kernels match float64 loops', () => {
  const resources: GpuResources[] = [];
  afterAll(() => resources.forEach((r) => r.destroy()));

  async function setup(): Promise<{ res: GpuResources; tensor: (data: Float32Array, label: string) => TensorRef; run: (dispatches: Dispatch[], read: TensorRef) => Promise<Float32Array> }> {
    const res = new GpuResources(await testGpu());
    resources.push(res);
    const tensor = (data: Float32Array, label: string): TensorRef => {
      const buffer = res.constants(data, label, GPUBufferUsage.COPY_SRC);
      return { buffer, offset: 0, size: buffer.size };
    };
    const run = async (dispatches: Dispatch[], read: TensorRef): Promise<Float32Array> => {
      const staging = res.buffer(read.size, GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ, 'read-back');
      const encoder = res.device.createCommandEncoder();
      encodeDispatches(encoder, dispatches, 'test');
      encoder.copyBufferToBuffer(read.buffer, read.offset, staging, 0, read.size);
      res.device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const values = new Float32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      return values;
    };
    return { res, tensor, run };
  }

  CASES.forEach((c, index) => {
    it(`forward: ${c.name}`, async () => {
      const { res, tensor, run } = await setup();
      const { graph, node } = depthwiseGraph(c, 100 + index);
      expect(depthwiseDefines(node).VEC).toBe(c.vec);
      const random = rng(200 + index);
      const input = randomArray(random, c.batch * sizeOf(c.input), 1.5);
      const outSize = c.batch * sizeOf(node.shape);
      const output = tensor(new Float32Array(outSize).fill(Number.NaN), 'output');
      const dispatches = await depthwiseOp.record({
        res, node, inputs: [tensor(input, 'input')], inputShapes: [c.input], output, batch: c.batch, activation: node.activation, weights: depthwiseOp.upload!(res, node),
      });
      const gpu = (await run(dispatches, output)).subarray(0, outSize);
      expectClose(gpu, referenceForward(graph, input, c.batch)[node.id]);
    });

    for (const mode of MODES) {
      it(`message${mode.plus ? ' plus' : ''}${mode.accumulate ? ' accumulate' : ''}: ${c.name}`, async () => {
        const { res, tensor, run } = await setup();
        const { node } = depthwiseGraph(c, 100 + index);
        const random = rng(300 + index);
        const inSize = c.batch * sizeOf(c.input);
        const rel = randomArray(random, c.batch * sizeOf(node.shape), 1);
        const act = randomArray(random, inSize, 1.5);
        // Overwritten unless accumulating, so garbage must not survive.
        const out = randomArray(random, inSize, 2);
        const io = { rel: tensor(rel, 'rel'), act: tensor(act, 'act'), out: tensor(out, 'out') };
        const dispatch = await depthwiseMessage(res, node, depthwiseOp.upload!(res, node), c.input, c.batch, io, mode.plus, mode.accumulate);
        const gpu = (await run([dispatch], io.out)).subarray(0, inSize);
        expectClose(gpu, referenceMessage(node, c.input, c.batch, rel, act, out, mode.plus, mode.accumulate));
      });
    }
  });
});
