import { afterAll, describe, expect, it } from 'vitest';
import { buildGraph } from '../src/graph/build.js';
import { canonicalize } from '../src/graph/canonicalize.js';
import { sizeOf } from '../src/graph/ir.js';
import type { Gpu } from '../src/gpu/device.js';
import { Model } from '../src/model.js';
import { maxMicroBatch, uploadWeights } from '../src/engine/forward.js';
import { GpuResources } from '../src/gpu/resources.js';
import type { ConvWeights } from '../src/ops/conv2d/index.js';
import { referenceForward } from '../src/reference/forward.js';
import { syntheticOnGpu } from './helpers/gpu.js';
import { randomArray, rng, SyntheticModel } from './helpers/synthetic.js';

// Every forward kernel against the float64 CPU reference on small random graphs: odd sizes,
// strides, 'same' padding with even kernels, dilation, batch > 1, and every activation.
// Tolerance: max |gpu - ref| <= 1e-4 * max |ref| per compared tensor.

type Case = { name: string; batch: number; make: (m: SyntheticModel) => string; layers?: string[]; limits?: Partial<Gpu['limits']>; gpuShapes?: boolean };

const conv = (filters: number, kernel: number[], extra: Record<string, unknown> = {}) => ({
  filters, kernel_size: kernel, strides: [1, 1], padding: 'same', dilation_rate: [1, 1], activation: 'linear', use_bias: true, ...extra,
});
const convVars = (k: number[], cin: number, filters: number, bias = true) => ({ kernel: [k[0], k[1], cin, filters], ...(bias ? { bias: [filters] } : {}) });
const bnVars = (c: number) => ({ gamma: [c], beta: [c], moving_mean: [c], moving_variance: [c] });

const CASES: Case[] = [
  { name: 'conv 3x3 stride 2 same, odd 7x9, relu', batch: 3, make: (m) => m.layer('Conv2D', conv(5, [3, 3], { strides: [2, 2], activation: 'relu' }), [m.input([7, 9, 3])], convVars([3, 3], 3, 5)) },
  { name: 'conv 4x4 same (even kernel), linear', batch: 2, make: (m) => m.layer('Conv2D', conv(6, [4, 4]), [m.input([8, 8, 4])], convVars([4, 4], 4, 6)) },
  { name: 'conv 2x3 valid strides (2,1), no bias, tanh', batch: 2, make: (m) => m.layer('Conv2D', conv(3, [2, 3], { strides: [2, 1], padding: 'valid', use_bias: false, activation: 'tanh' }), [m.input([10, 7, 2])], convVars([2, 3], 2, 3, false)) },
  { name: 'conv dilation 2 same, elu', batch: 1, make: (m) => m.layer('Conv2D', conv(4, [3, 3], { dilation_rate: [2, 2], activation: 'elu' }), [m.input([9, 11, 3])], convVars([3, 3], 3, 4)) },
  { name: 'conv 70 filters on 16x12x8 (wide tiles, partial tiles), swish', batch: 2, make: (m) => m.layer('Conv2D', conv(70, [3, 3], { activation: 'swish' }), [m.input([16, 12, 8])], convVars([3, 3], 8, 70), 0.2) },
  { name: 'conv 5x5 stride 3 same, sigmoid', batch: 4, make: (m) => m.layer('Conv2D', conv(8, [5, 5], { strides: [3, 3], activation: 'sigmoid' }), [m.input([5, 5, 3])], convVars([5, 5], 3, 8)) },
  { name: 'conv 1x1 stride 2 valid, softplus', batch: 2, make: (m) => m.layer('Conv2D', conv(4, [1, 1], { strides: [2, 2], padding: 'valid', activation: 'softplus' }), [m.input([6, 7, 3])], convVars([1, 1], 3, 4)) },
  { name: 'flatten + dense relu (small batch path)', batch: 3, make: (m) => m.layer('Dense', { units: 37, activation: 'relu' }, [m.layer('Flatten', {}, [m.input([3, 4, 5])])], { kernel: [60, 37], bias: [37] }) },
  { name: 'dense on rank-3 input (per position)', batch: 2, make: (m) => m.layer('Dense', { units: 7, activation: 'linear', use_bias: false }, [m.input([4, 5, 6])], { kernel: [6, 7] }) },
  { name: 'dense of 20 units on a batch of 5 (vec4 columns in workgroups of 4, a partial row tile)', batch: 5, make: (m) => m.layer('Dense', { units: 20, activation: 'relu' }, [m.input([33])], { kernel: [33, 20], bias: [20] }) },
  { name: 'dense with batch 70 (wide tiles)', batch: 70, make: (m) => m.layer('Dense', { units: 9 }, [m.input([13])], { kernel: [13, 9], bias: [9] }) },
  { name: 'depthwise 3x3 stride 2 same, multiplier 2, relu', batch: 2, make: (m) => m.layer('DepthwiseConv2D', { kernel_size: [3, 3], strides: [2, 2], padding: 'same', depth_multiplier: 2, activation: 'relu', use_bias: true }, [m.input([9, 8, 4])], { kernel: [3, 3, 4, 2], bias: [8] }) },
  { name: 'depthwise 4x4 same (even), no bias', batch: 2, make: (m) => m.layer('DepthwiseConv2D', { kernel_size: [4, 4], padding: 'same', use_bias: false }, [m.input([7, 7, 3])], { kernel: [4, 4, 3, 1] }) },
  { name: 'depthwise 2x2 valid dilation 2, multiplier 3', batch: 1, make: (m) => m.layer('DepthwiseConv2D', { kernel_size: [2, 2], padding: 'valid', dilation_rate: [2, 2], depth_multiplier: 3 }, [m.input([6, 5, 2])], { kernel: [2, 2, 2, 3], bias: [6] }) },
  { name: 'max pool 3x3 stride 2 same, odd', batch: 2, make: (m) => m.layer('MaxPooling2D', { pool_size: [3, 3], strides: [2, 2], padding: 'same' }, [m.input([9, 7, 3])]) },
  { name: 'avg pool 3x3 stride 2 same counts real cells', batch: 2, make: (m) => m.layer('AveragePooling2D', { pool_size: [3, 3], strides: [2, 2], padding: 'same' }, [m.input([9, 7, 3])]) },
  { name: 'avg pool 2x2 stride 1 same (pad after only)', batch: 2, make: (m) => m.layer('AveragePooling2D', { pool_size: [2, 2], strides: [1, 1], padding: 'same' }, [m.input([5, 6, 2])]) },
  { name: 'max pool 2 valid, default strides', batch: 3, make: (m) => m.layer('MaxPooling2D', { pool_size: [2, 2], padding: 'valid' }, [m.input([7, 7, 3])]) },
  {
    name: 'global average and max pooling, keepdims both ways', batch: 2, layers: ['gap', 'gmp'],
    make: (m) => {
      const x = m.input([5, 6, 4]);
      return m.layer('Concatenate', { axis: -1 }, [m.layer('GlobalAveragePooling2D', { name: 'gap' }, [x]), m.layer('Flatten', {}, [m.layer('GlobalMaxPooling2D', { name: 'gmp', keepdims: true }, [x])])]);
    },
  },
  {
    name: 'standalone BatchNormalization after relu, Rescaling, Normalization', batch: 2, layers: ['bn'],
    make: (m) => {
      const x = m.layer('Normalization', { mean: [0.1, -0.2, 0.3], variance: [0.5, 2, 1] }, [m.layer('Rescaling', { scale: 0.5, offset: -1 }, [m.input([4, 5, 3])])]);
      const c = m.layer('Conv2D', conv(4, [3, 3], { activation: 'relu' }), [x], convVars([3, 3], 3, 4));
      return m.layer('BatchNormalization', { name: 'bn', epsilon: 0.001 }, [c], bnVars(4));
    },
  },
  {
    name: 'three-way Add with fused relu, Concatenate, ZeroPadding2D asymmetric', batch: 2, layers: ['sum', 'cat'],
    make: (m) => {
      const x = m.input([5, 4, 3]);
      const a = m.layer('Conv2D', conv(3, [3, 3]), [x], convVars([3, 3], 3, 3));
      const sum = m.layer('Add', { name: 'sum' }, [x, a, m.layer('Conv2D', conv(3, [1, 1]), [x], convVars([1, 1], 3, 3))]);
      const r = m.layer('Activation', { activation: 'relu' }, [sum]);
      const cat = m.layer('Concatenate', { name: 'cat', axis: -1 }, [r, x, m.layer('Conv2D', conv(2, [3, 3]), [x], convVars([3, 3], 3, 2))]);
      return m.layer('ZeroPadding2D', { padding: [[1, 2], [3, 0]] }, [cat]);
    },
  },
  {
    name: 'ReLU(max_value, negative_slope, threshold), LeakyReLU, Reshape then Dense', batch: 2,
    make: (m) => {
      const x = m.layer('ReLU', { max_value: 0.6, negative_slope: 0.1, threshold: 0.2 }, [m.input([3, 4, 6])]);
      const y = m.layer('LeakyReLU', { negative_slope: 0.2 }, [m.layer('Conv2D', conv(6, [3, 3]), [x], convVars([3, 3], 6, 6))]);
      return m.layer('Dense', { units: 5 }, [m.layer('Reshape', { target_shape: [-1, 6] }, [y])], { kernel: [6, 5], bias: [5] });
    },
  },
  {
    name: 'tiny binding limit: micro-batches and dense weights split along outputs', batch: 10, limits: { maxStorageBufferBindingSize: 4096 },
    make: (m) => {
      const c = m.layer('Conv2D', conv(4, [3, 3], { activation: 'relu' }), [m.input([8, 8, 4])], convVars([3, 3], 4, 4));
      return m.layer('Dense', { units: 100, activation: 'relu' }, [m.layer('Flatten', {}, [m.layer('MaxPooling2D', { pool_size: [2, 2] }, [c])])], { kernel: [64, 100], bias: [100] }, 0.2);
    },
  },
  // GPU shapes: a product with few threads and long sums splits each sum over K among 32 threads.
  { name: 'GPU shapes: dense of 37 units on a batch of 3 (scalar columns)', batch: 3, gpuShapes: true, make: (m) => m.layer('Dense', { units: 37, activation: 'relu' }, [m.layer('Flatten', {}, [m.input([4, 8, 5])])], { kernel: [160, 37], bias: [37] }, 0.2) },
  { name: 'GPU shapes: dense of 52 units on a batch of 5 over 1000 inputs (vec4 columns, long K)', batch: 5, gpuShapes: true, make: (m) => m.layer('Dense', { units: 52, activation: 'tanh' }, [m.input([1000])], { kernel: [1000, 52], bias: [52] }, 0.1) },
  { name: 'GPU shapes: dense over 333 scalar inputs, batch 2, no bias', batch: 2, gpuShapes: true, make: (m) => m.layer('Dense', { units: 12, use_bias: false }, [m.input([333])], { kernel: [333, 12] }, 0.1) },
  { name: 'GPU shapes: 3x3 conv over 128 channels, 5x6 same, 60 rows', batch: 2, gpuShapes: true, make: (m) => m.layer('Conv2D', conv(20, [3, 3], { activation: 'relu' }), [m.input([5, 6, 128])], convVars([3, 3], 128, 20), 0.1) },
  {
    name: 'GPU shapes: tiny binding limit, dense weights split along outputs', batch: 10, gpuShapes: true, limits: { maxStorageBufferBindingSize: 4096 },
    make: (m) => {
      const c = m.layer('Conv2D', conv(8, [3, 3], { activation: 'relu' }), [m.input([8, 8, 4])], convVars([3, 3], 4, 8));
      return m.layer('Dense', { units: 100, activation: 'relu' }, [m.layer('Flatten', {}, [m.layer('MaxPooling2D', { pool_size: [2, 2] }, [c])])], { kernel: [128, 100], bias: [100] }, 0.2);
    },
  },
];

function relativeError(gpu: Float32Array, ref: Float64Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(gpu[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

describe('forward kernels match the float64 reference', () => {
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));

  CASES.forEach((c, index) => {
    it(c.name, async () => {
      const { model, random } = await syntheticOnGpu(1000 + index, c.make, c.limits, c.gpuShapes);
      const gpu = model.gpu;
      models.push(model);
      const input = randomArray(random, c.batch * sizeOf(model.info.inputShape), 2);
      const reference = referenceForward(model.graph, input, c.batch);
      const { logits } = await model.predict(input);
      expect(logits.length).toBe(reference[model.graph.output].length);
      if (c.limits) {
        // The case must really exercise the splitting it is named after.
        expect(maxMicroBatch(gpu, model.graph)).toBeLessThan(c.batch);
        const res = new GpuResources(gpu);
        const dense = model.graph.nodes.find((n) => n.op === 'conv2d' && n.dense)!;
        expect((uploadWeights(res, model.graph).get(dense.id) as ConvWeights).chunks.length).toBeGreaterThan(1);
        res.destroy();
      }
      expect(relativeError(logits, reference[model.graph.output])).toBeLessThanOrEqual(1e-4);
      if (c.layers) {
        const outputs = await model.layerOutputs(input, c.layers);
        for (const name of c.layers) expect(relativeError(outputs.get(name)!, reference[model.graph.layerOutputs.get(name)!]), name).toBeLessThanOrEqual(1e-4);
      }
    });
  });
});

describe('canonicalisation preserves the function (float64, no GPU)', () => {
  it('folds BatchNormalization into Conv2D, DepthwiseConv2D and Dense, drops Dropout, strips the final softmax', () => {
    const random = rng(7);
    const m = new SyntheticModel(random);
    const x = m.input([6, 6, 3]);
    const c = m.layer('Conv2D', conv(4, [3, 3]), [x], convVars([3, 3], 3, 4));
    const b = m.layer('BatchNormalization', { epsilon: 1e-3 }, [c], bnVars(4));
    const d = m.layer('DepthwiseConv2D', { kernel_size: [3, 3], padding: 'same', use_bias: false, depth_multiplier: 2 }, [m.layer('Activation', { activation: 'relu' }, [b])], { kernel: [3, 3, 4, 2] });
    const b2 = m.layer('BatchNormalization', { epsilon: 1e-5, scale: false }, [d], { beta: [8], moving_mean: [8], moving_variance: [8] });
    const f = m.layer('Dropout', { rate: 0.5 }, [m.layer('Flatten', {}, [b2])]);
    const dense = m.layer('Dense', { units: 10 }, [f], { kernel: [288, 10], bias: [10] }, 0.1);
    const out = m.layer('Activation', { activation: 'softmax' }, [m.layer('BatchNormalization', { center: false }, [dense], { gamma: [10], moving_mean: [10], moving_variance: [10] })]);
    const raw = buildGraph(m.build(out));
    const canonical = canonicalize(raw);
    expect(canonical.nodes.filter((n) => n.op === 'affine' || n.op === 'identity')).toHaveLength(0);
    expect(canonical.outputSoftmax).toBe(true);
    const input = randomArray(random, 2 * 108, 1);
    const expected = referenceForward(raw, input, 2)[raw.output];
    const logits = referenceForward(canonical, input, 2)[canonical.output];
    for (let s = 0; s < 2; s++) {
      const row = Array.from(logits.subarray(s * 10, s * 10 + 10));
      const max = Math.max(...row);
      const sum = row.reduce((a, v) => a + Math.exp(v - max), 0);
      row.forEach((v, i) => expect(Math.exp(v - max) / sum).toBeCloseTo(expected[s * 10 + i], 6));
    }
  });
});
