import { afterAll, describe, expect, it } from 'vitest';
import { toHalf } from '../src/gpu/half.js';
import { Model } from '../src/model.js';
import { testGpu } from './helpers/gpu.js';
import { readNpy } from './helpers/fixtures.js';

// Optional half-precision storage of conv/dense kernels (LoadOptions.weightPrecision 'f16').

describe('f16 weights', () => {
  it('rounds to the nearest half (even on ties), with subnormals, overflow and NaN', () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00],
      [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02],
      [-0, 0x8000], [Infinity, 0x7c00], [NaN, 0x7e00],
    ];
    expect(Array.from(toHalf(Float32Array.from(cases.map(([v]) => v))))).toEqual(cases.map(([, bits]) => bits));
  });

  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));

  it('explains within 1e-2 (relative L2) of f32 storage, and really uses f16', async () => {
    const gpu = await testGpu();
    if (!gpu.hasF16) throw new Error(`the test adapter (${gpu.adapter}) has no shader-f16; lavapipe and SwiftShader do`);
    const f32 = await Model.load('weights/fashion_resnet.h5', { gpu });
    const f16 = await Model.load('weights/fashion_resnet.h5', { gpu, weightPrecision: 'f16' });
    models.push(f32, f16);
    const x = readNpy('weights/fashion_samples.npy');
    const relL2 = (a: Float32Array, b: Float32Array) => {
      let num = 0;
      let den = 0;
      a.forEach((v, i) => { num += (v - b[i]) ** 2; den += v ** 2; });
      return Math.sqrt(num / den);
    };
    for (const method of ['rlrp', 'epsilon-plus-flat'] as const) {
      const a = await f32.explain(x.data.subarray(0, 4 * 784), { method });
      const b = await f16.explain(x.data.subarray(0, 4 * 784), { method, target: a.targets });
      const logitError = relL2(a.logits, b.logits);
      const relevanceError = relL2(a.relevance, b.relevance);
      expect(logitError).toBeLessThan(1e-2);
      expect(relevanceError).toBeLessThan(1e-2);
      // Rounding the kernels to 11 significant bits must show: equal results would mean f32 ran.
      expect(logitError).toBeGreaterThan(1e-5);
    }
  });

  it('says which feature is missing when the adapter has no shader-f16, and rejects unknown precisions', async () => {
    const gpu = await testGpu();
    await expect(Model.load('weights/fashion_cnn.h5', { gpu: { ...gpu, hasF16: false }, weightPrecision: 'f16' })).rejects.toThrow(/shader-f16/);
    await expect(Model.load('weights/fashion_cnn.h5', { gpu, weightPrecision: 'f8' as 'f16' })).rejects.toThrow(/weightPrecision must be 'f32' or 'f16'/);
  });
});
