import { afterAll, describe, expect, it } from 'vitest';
import { InputShapeError } from '../src/errors.js';
import { Model, type ExplainOptions } from '../src/model.js';
import type { KerasModel } from '../src/keras/load.js';
import { testGpu } from './helpers/gpu.js';
import { randomArray, rng, SyntheticModel } from './helpers/synthetic.js';
import { relativeL2 as relL2 } from './helpers/compare.js';

// Properties of the classical rules and gradients on the GPU that hold without a reference,
// per-layer rule maps, and the option checks that run before any GPU work.

const conv = (filters: number, extra: Record<string, unknown> = {}) => ({
  filters, kernel_size: [3, 3], strides: [1, 1], padding: 'same', dilation_rate: [1, 1], activation: 'relu', use_bias: false, ...extra,
});

describe('classical rules and gradients on the GPU', () => {
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));
  const load = async (m: SyntheticModel, out: string, patch?: (w: KerasModel['weights']) => void) => {
    const keras = m.build(out);
    patch?.(keras.weights);
    const model = await Model.fromKeras(keras, { gpu: await testGpu() });
    models.push(model);
    return model;
  };

  /** Conv2D(relu) -> Dense(relu) -> Dense, no biases anywhere. */
  const biasFree = async () => {
    const m = new SyntheticModel(rng(21));
    const c = m.layer('Conv2D', conv(4, { name: 'features' }), [m.input([6, 6, 2])], { kernel: [3, 3, 2, 4] });
    const d = m.layer('Dense', { units: 10, activation: 'relu', use_bias: false, name: 'hidden' }, [m.layer('Flatten', {}, [c])], { kernel: [144, 10] });
    return load(m, m.layer('Dense', { units: 3, use_bias: false, name: 'logits' }, [d], { kernel: [10, 3] }));
  };

  it('gradient x input equals z_t * LRP-0 on a bias-free ReLU net', async () => {
    const model = await biasFree();
    const input = randomArray(rng(5), 2 * 72, 1);
    const gxi = await model.explain(input, { method: 'gradient-x-input', target: [0, 2] });
    const lrp0 = await model.explain(input, { method: 'lrp0', target: [0, 2] });
    for (let n = 0; n < 2; n++) {
      const z = gxi.logits[n * 3 + gxi.targets[n]];
      expect(Math.abs(z)).toBeGreaterThan(1e-3);
      const scaled = lrp0.relevance.slice(n * 72, (n + 1) * 72).map((v) => v * z);
      expect(relL2(scaled, gxi.relevance.slice(n * 72, (n + 1) * 72)), `sample ${n}`).toBeLessThanOrEqual(1e-4);
    }
    // LRP-0 conserves the seed on a bias-free net: sum R_in = 1.
    for (const s of lrp0.layers.find((l) => l.name === 'logits')!.sum) expect(s).toBeCloseTo(1, 4);
  });

  it('LRP-0 blows up where the target pre-activation is 1e-30; R-LRP stays finite', async () => {
    // Identity hidden layer, so a = x; logit 0 = x0 - x1 + x2 = 1e-30 for x = (1, 1, 1e-30).
    const m = new SyntheticModel(rng(1));
    const hidden = m.layer('Dense', { units: 3, use_bias: false, name: 'hidden' }, [m.input([3])], { kernel: [3, 3] });
    const model = await load(m, m.layer('Dense', { units: 2, use_bias: false, name: 'out' }, [hidden], { kernel: [3, 2] }), (w) => {
      w.get('hidden')!.get('kernel')!.data.values().set([1, 0, 0, 0, 1, 0, 0, 0, 1]);
      w.get('out')!.get('kernel')!.data.values().set([1, 0.5, -1, 0.25, 1, 0]);
    });
    const x = Float32Array.from([1, 1, 1e-30]);
    const lrp0 = await model.explain(x, { method: 'lrp0', target: 0 });
    expect(lrp0.logits[0]).toBe(Math.fround(1e-30));
    expect(Array.from(lrp0.relevance).some((v) => !Number.isFinite(v) || Math.abs(v) > 1e20)).toBe(true);
    for (const method of ['rlrp', 'rlrp-plus'] as const) {
      const { relevance, layers } = await model.explain(x, { method, target: 0 });
      expect(Array.from(relevance).every(Number.isFinite), method).toBe(true);
      expect(layers.every((l) => l.l1.every(Number.isFinite)), method).toBe(true);
    }
  });

  it('rules by layer name override the composite: epsilon + {features: zplus} is epsilon-plus', async () => {
    const model = await biasFree();
    const input = randomArray(rng(6), 72, 1);
    const composite = await model.explain(input, { method: 'epsilon-plus', target: 1 });
    const mapped = await model.explain(input, { method: 'epsilon', rules: { features: 'zplus' }, target: 1 });
    expect(relL2(mapped.relevance, composite.relevance)).toBeLessThanOrEqual(1e-6);
    // ... and an override of the composite's own choice changes the map.
    const flat = await model.explain(input, { method: 'epsilon-plus', rules: { features: 'flat' }, target: 1 });
    const firstFlat = await model.explain(input, { method: 'epsilon-plus-flat', target: 1 });
    expect(relL2(flat.relevance, firstFlat.relevance)).toBeLessThanOrEqual(1e-6);
    expect(relL2(flat.relevance, composite.relevance)).toBeGreaterThan(1e-2);
    expect(mapped.method).toContain('rules=');
  });

  it('rejects bad methods, options and rule maps with InputShapeError', async () => {
    const model = await biasFree();
    const input = new Float32Array(72);
    const bad: [ExplainOptions, RegExp][] = [
      [{ method: 'lrp-7' as ExplainOptions['method'] }, /unknown method 'lrp-7'/],
      [{ method: 'epsilon', epsilon: -1e-3 }, /epsilon must be a finite number >= 0/],
      [{ method: 'gamma', gamma: -0.5 }, /gamma must be a finite number >= 0/],
      [{ method: 'alpha-beta', alpha: 3, beta: 1 }, /alpha - beta must be 1/],
      [{ method: 'alpha-beta', alpha: 0.5, beta: -0.5 }, /alpha must be a finite number >= 1/],
      [{ method: 'alpha-beta', alpha: 1, beta: -1 }, /beta must be a finite number >= 0/],
      [{ method: 'zbox' }, /needs the input bounds/],
      [{ method: 'epsilon-gamma-box', low: 0 }, /needs the input bounds/],
      [{ method: 'zbox', low: 1, high: 0 }, /low \(1\) is above high \(0\)/],
      [{ method: 'zbox', low: [0, 0, 0], high: 1 }, /one per input channel/],
      [{ method: 'epsilon', rules: { nope: 'zplus' } }, /no layer named 'nope'/],
      [{ method: 'epsilon', rules: { features: 'magic' as 'zplus' } }, /unknown rule 'magic'/],
      [{ method: 'epsilon', rules: { flatten_1: 'zplus' } }, /not a Conv2D, Dense or DepthwiseConv2D layer/],
      [{ method: 'epsilon', rules: { hidden: 'zbox' } }, /needs the input bounds/],
      [{ method: 'epsilon', rules: { hidden: 'zbox' }, low: 0, high: 1 }, /ZBox bounds cannot be carried through 'activation'/],
      [{ method: 'gradient', rules: { hidden: 'zplus' } }, /per-layer rules apply to the LRP methods/],
    ];
    for (const [options, message] of bad) {
      await expect(model.explain(input, options), JSON.stringify(options)).rejects.toThrow(InputShapeError);
      await expect(model.explain(input, options), JSON.stringify(options)).rejects.toThrow(message);
    }
    // ZBox on a named first layer with per-channel bounds is fine.
    const { relevance } = await model.explain(randomArray(rng(3), 72, 1), { method: 'epsilon', rules: { features: 'zbox' }, low: [-1, -2], high: [1, 2], target: 0 });
    expect(Array.from(relevance).every(Number.isFinite)).toBe(true);
  });
});
