import { afterAll, describe, expect, it } from 'vitest';
import { sizeOf } from '../src/graph/ir.js';
import type { Gpu } from '../src/gpu/device.js';
import { Model } from '../src/model.js';
import { referenceRelevance } from '../src/reference/relevance.js';
import { testGpu } from './helpers/gpu.js';
import { randomArray, rng, SyntheticModel } from './helpers/synthetic.js';

// The GPU relevance pass against the independent float64 CPU reference (src/reference/, which
// shares no code with the GPU path) on random graphs covering every layer type, identity and
// projection skips, and a binding limit small enough to split weights and batches.
// Tolerance: per sample ||gpu - ref|| / ||ref|| <= 1e-4; per-layer L1 norms within 1e-4.

const conv = (filters: number, kernel: number[], extra: Record<string, unknown> = {}) => ({
  filters, kernel_size: kernel, strides: [1, 1], padding: 'same', dilation_rate: [1, 1], activation: 'linear', use_bias: true, ...extra,
});
const convVars = (k: number[], cin: number, filters: number) => ({ kernel: [k[0], k[1], cin, filters], bias: [filters] });
const bnVars = (c: number) => ({ gamma: [c], beta: [c], moving_mean: [c], moving_variance: [c] });

/** `pixels`: inputs in 0..255, as the Rescaling layer of that model expects. */
type Case = { name: string; batch: number; pixels?: boolean; make: (m: SyntheticModel) => string; limits?: Partial<Gpu['limits']> };

const CASES: Case[] = [
  {
    name: 'CNN: even-kernel strided conv, max/avg pooling (same), depthwise, standalone BN, dense', batch: 3,
    make: (m) => {
      let x = m.layer('Conv2D', conv(6, [4, 4], { strides: [2, 2], activation: 'relu' }), [m.input([11, 9, 3])], convVars([4, 4], 3, 6));
      x = m.layer('MaxPooling2D', { pool_size: [3, 3], strides: [2, 2], padding: 'same' }, [x]);
      x = m.layer('DepthwiseConv2D', { kernel_size: [3, 3], padding: 'same', depth_multiplier: 2, activation: 'tanh' }, [x], { kernel: [3, 3, 6, 2], bias: [12] });
      x = m.layer('AveragePooling2D', { pool_size: [2, 2], strides: [1, 1], padding: 'same' }, [x]);
      x = m.layer('BatchNormalization', {}, [m.layer('Activation', { activation: 'relu' }, [x])], bnVars(12));
      return m.layer('Dense', { units: 7 }, [m.layer('Flatten', {}, [x])], { kernel: [3 * 3 * 12, 7], bias: [7] }, 0.2);
    },
  },
  {
    name: 'residual: Rescaling + Normalization, identity and projection skips, 3-way Add, Concatenate, ZeroPadding2D, GMP + GAP', batch: 2, pixels: true,
    make: (m) => {
      const x0 = m.layer('Normalization', { mean: [0.1, -0.2, 0.3], variance: [0.5, 2, 1] }, [m.layer('Rescaling', { scale: 0.02, offset: -1 }, [m.input([9, 10, 3])])]);
      const stem = m.layer('Activation', { activation: 'relu' }, [m.layer('BatchNormalization', {}, [m.layer('Conv2D', conv(8, [3, 3], { use_bias: false }), [x0], { kernel: [3, 3, 3, 8] })], bnVars(8))]);
      const branch = m.layer('Conv2D', conv(8, [3, 3], { activation: 'relu' }), [stem], convVars([3, 3], 8, 8));
      const identity = m.layer('Activation', { activation: 'relu' }, [m.layer('Add', {}, [stem, m.layer('Conv2D', conv(8, [3, 3]), [branch], convVars([3, 3], 8, 8))])]);
      const down = m.layer('Conv2D', conv(12, [3, 3], { strides: [2, 2], activation: 'relu' }), [identity], convVars([3, 3], 8, 12));
      const projection = m.layer('Conv2D', conv(12, [1, 1], { strides: [2, 2] }), [identity], convVars([1, 1], 8, 12));
      const sum3 = m.layer('Add', {}, [m.layer('Conv2D', conv(12, [3, 3]), [down], convVars([3, 3], 12, 12)), projection, m.layer('Conv2D', conv(12, [1, 1]), [down], convVars([1, 1], 12, 12))]);
      const padded = m.layer('ZeroPadding2D', { padding: [[1, 0], [0, 2]] }, [m.layer('ReLU', { max_value: 6 }, [sum3])]);
      const cat = m.layer('Concatenate', { axis: -1 }, [m.layer('GlobalMaxPooling2D', {}, [padded]), m.layer('GlobalAveragePooling2D', {}, [padded])]);
      return m.layer('Dense', { units: 5 }, [cat], { kernel: [24, 5], bias: [5] });
    },
  },
  {
    name: 'tiny binding limit: micro-batches and a dense weight split along outputs', batch: 5, limits: { maxStorageBufferBindingSize: 4096 },
    make: (m) => {
      const c = m.layer('Conv2D', conv(4, [3, 3], { activation: 'relu' }), [m.input([8, 8, 4])], convVars([3, 3], 4, 4));
      const d = m.layer('Dense', { units: 100, activation: 'elu' }, [m.layer('Flatten', {}, [m.layer('MaxPooling2D', { pool_size: [2, 2] }, [c])])], { kernel: [64, 100], bias: [100] }, 0.2);
      return m.layer('Dense', { units: 6 }, [d], { kernel: [100, 6], bias: [6] }, 0.2);
    },
  },
];

describe('GPU relevance matches the float64 reference', () => {
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));

  CASES.forEach((c, index) => {
    for (const [method, skip] of [['rlrp', 'product'], ['rlrp', 'ratio'], ['rlrp-plus', 'product'], ['rlrp-plus', 'ratio']] as const) {
      it(`${c.name}: ${method} ${skip}`, async () => {
        const random = rng(500 + index);
        const synthetic = new SyntheticModel(random);
        const keras = synthetic.build(c.make(synthetic));
        const real = await testGpu();
        const gpu = c.limits ? { ...real, limits: { ...real.limits, ...c.limits } } : real;
        const model = await Model.fromKeras(keras, { gpu });
        models.push(model);
        const per = sizeOf(model.info.inputShape);
        const input = c.pixels ? randomArray(random, c.batch * per, 127.5, 127.5) : randomArray(random, c.batch * per, 1.5, 0.2);
        const result = await model.explain(input, { method, skip });
        const ref = referenceRelevance(model.graph, input, c.batch, result.targets, method === 'rlrp' ? (skip === 'ratio' ? 'rlrp-ratio' : 'rlrp') : (skip === 'ratio' ? 'rlrp-plus-ratio' : 'rlrp-plus'));
        for (let n = 0; n < c.batch; n++) {
          let diff = 0;
          let norm = 0;
          for (let i = n * per; i < (n + 1) * per; i++) {
            diff += (result.relevance[i] - ref.relevance[i]) ** 2;
            norm += ref.relevance[i] ** 2;
          }
          expect(norm).toBeGreaterThan(0);
          expect(Math.sqrt(diff / norm), `sample ${n}`).toBeLessThanOrEqual(1e-4);
        }
        for (const layer of result.layers) {
          const refLayer = ref.layers.find((l) => l.node === model.graph.layerOutputs.get(layer.name))!;
          layer.l1.forEach((v, n) => expect(Math.abs(v - refLayer.l1[n]), `${layer.name} L1`).toBeLessThanOrEqual(1e-4 * Math.max(1, refLayer.l1[n])));
        }
        if (method === 'rlrp-plus') expect(Math.min(...result.relevance)).toBeGreaterThanOrEqual(0);
      });
    }
  });

  it('finite where every pre-activation is 0: a zero input gives an all-zero map, not NaN', async () => {
    const m = new SyntheticModel(rng(9));
    const x = m.layer('Conv2D', conv(4, [3, 3], { use_bias: false, activation: 'relu' }), [m.input([6, 6, 2])], { kernel: [3, 3, 2, 4] });
    const out = m.layer('Dense', { units: 3, use_bias: false }, [m.layer('Flatten', {}, [x])], { kernel: [144, 3] });
    const model = await Model.fromKeras(m.build(out), { gpu: await testGpu() });
    models.push(model);
    for (const method of ['rlrp', 'rlrp-plus'] as const) {
      const { relevance, layers } = await model.explain(new Float32Array(72), { method, target: 1 });
      expect(Array.from(relevance).every((v) => v === 0)).toBe(true);
      expect(layers.every((l) => l.l1.every(Number.isFinite))).toBe(true);
    }
  });
});
