import { afterAll, describe, expect, it } from 'vitest';
import { Model } from '../src/model.js';
import { testGpu } from './helpers/gpu.js';
import { randomArray, rng, SyntheticModel } from './helpers/synthetic.js';

// Memory-bound kernels (stream.wgsl: element-wise, norms, rescale, pooling, region copies) take their workgroup size, count and vector width from the
// adapter: CPU adapters get a few 8-wide workgroups that loop long, GPUs 64-wide ones, one per
// Value (and a GPU's products of few rows split their sums over K, see kernels.test.ts). CI only has CPU adapters, so the GPU shape is forced here on the same device and must
// give the same numbers (within float32 reordering of the norms' sums), with vec4 and scalar
// Values both present: 8 channels (vec4) and 3 channels over odd sizes (scalar).
describe('memory-bound kernels on CPU and GPU adapter shapes', () => {
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));

  const build = (m: SyntheticModel) => {
    const conv = (filters: number, input: string, channels: number, activation = 'relu') => m.layer('Conv2D', {
      filters, kernel_size: [3, 3], strides: [1, 1], padding: 'same', dilation_rate: [1, 1], activation, use_bias: true,
    }, [input], { kernel: [3, 3, channels, filters], bias: [filters] });
    const x = m.input([7, 5, 3]);
    const a = conv(8, x, 3);
    const bn = m.layer('BatchNormalization', { epsilon: 0.001 }, [a], { gamma: [8], beta: [8], moving_mean: [8], moving_variance: [8] });
    const b = m.layer('Activation', { activation: 'relu' }, [m.layer('Add', {}, [bn, conv(8, a, 8, 'linear')])]);
    const odd = m.layer('BatchNormalization', { epsilon: 0.001 }, [conv(3, b, 8, 'tanh')], { gamma: [3], beta: [3], moving_mean: [3], moving_variance: [3] });
    const c = m.layer('Activation', { activation: 'relu' }, [m.layer('Add', {}, [odd, x])]);
    // Pooling (max and average), Concatenate and ZeroPadding2D: NHWC kernels over four channels at a time.
    const pool = (className: string) => m.layer(className, { pool_size: [2, 2], strides: [2, 2], padding: 'same' }, [b]);
    const padded = m.layer('ZeroPadding2D', { padding: [[1, 0], [0, 1]] }, [m.layer('Concatenate', { axis: -1 }, [pool('MaxPooling2D'), pool('AveragePooling2D')])]);
    const flat = m.layer('Concatenate', { axis: -1 }, [m.layer('Flatten', {}, [c]), m.layer('Flatten', {}, [padded])]);
    return m.layer('Dense', { units: 5 }, [flat], { kernel: [105 + 5 * 4 * 16, 5], bias: [5] });
  };

  it('same logits and relevance for every kind of memory-bound pass', async () => {
    const gpu = await testGpu();
    const keras = () => { const m = new SyntheticModel(rng(21)); return m.build(build(m)); };
    const onCpuShape = await Model.fromKeras(keras(), { gpu: { ...gpu, cpu: true } });
    const onGpuShape = await Model.fromKeras(keras(), { gpu: { ...gpu, cpu: false } });
    models.push(onCpuShape, onGpuShape);
    const input = randomArray(rng(5), 3 * 7 * 5 * 3, 1.5, 0.2);
    const methods = [{ method: 'rlrp' }, { method: 'rlrp-plus' }, { method: 'rlrp', skip: 'ratio' }, { method: 'epsilon-gamma-box' }, { method: 'epsilon-plus-flat' }, { method: 'gradient' }] as const;
    for (const options of methods) {
      const method = `${options.method}${'skip' in options ? ' ratio' : ''}`;
      const a = await onCpuShape.explain(input, { ...options, target: 2, low: -1.3, high: 1.7 });
      const b = await onGpuShape.explain(input, { ...options, target: 2, low: -1.3, high: 1.7 });
      // The dense head's product on 3 rows splits its sums on a GPU: the same logits up to float32 reordering.
      const logitScale = Math.max(...a.logits.map(Math.abs));
      a.logits.forEach((v, i) => expect(Math.abs(b.logits[i] - v), method).toBeLessThanOrEqual(1e-5 * logitScale));
      const scale = Math.max(...a.relevance.map(Math.abs));
      expect(scale, method).toBeGreaterThan(0);
      const diff = Math.max(...a.relevance.map((v, i) => Math.abs(v - b.relevance[i])));
      expect(diff / scale, method).toBeLessThanOrEqual(1e-5);
    }
  });

  // A GPU splits a big tensor's norm into more parts per sample than a workgroup has threads
  // (here 66 of 130x130x16 values against 64), which the rescale's threads then add up together;
  // the Add's joint rescale reports its single-consumer operand's norm from those parts too.
  it('same relevance where a rescale adds up more partial norms than it has threads', async () => {
    const gpu = await testGpu();
    const keras = () => {
      const m = new SyntheticModel(rng(33));
      const conv = (input: string, channels: number, activation: string) => m.layer('Conv2D', {
        filters: 16, kernel_size: [3, 3], strides: [1, 1], padding: 'same', dilation_rate: [1, 1], activation, use_bias: true,
      }, [input], { kernel: [3, 3, channels, 16], bias: [16] });
      const a = conv(m.input([130, 130, 4]), 4, 'relu');
      const sum = m.layer('Activation', { activation: 'relu' }, [m.layer('Add', {}, [a, conv(a, 16, 'linear')])]);
      return m.build(m.layer('Dense', { units: 5 }, [m.layer('GlobalAveragePooling2D', {}, [sum])], { kernel: [16, 5], bias: [5] }));
    };
    const onCpuShape = await Model.fromKeras(keras(), { gpu: { ...gpu, cpu: true } });
    const onGpuShape = await Model.fromKeras(keras(), { gpu: { ...gpu, cpu: false } });
    models.push(onCpuShape, onGpuShape);
    const input = randomArray(rng(7), 2 * 130 * 130 * 4, 1.5, 0.2);
    for (const method of ['rlrp', 'rlrp-plus'] as const) {
      const a = await onCpuShape.explain(input, { method, target: 1 });
      const b = await onGpuShape.explain(input, { method, target: 1 });
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < a.relevance.length; i++) {
        scale = Math.max(scale, Math.abs(a.relevance[i]));
        diff = Math.max(diff, Math.abs(a.relevance[i] - b.relevance[i]));
      }
      expect(scale, method).toBeGreaterThan(0);
      expect(diff / scale, method).toBeLessThanOrEqual(1e-5);
      expect(b.layers.map((l) => l.name)).toEqual(a.layers.map((l) => l.name));
      a.layers.forEach((layer, k) => {
        for (let n = 0; n < 2; n++) {
          expect(Math.abs(b.layers[k].l1[n] - layer.l1[n]), `${method} ${layer.name}`).toBeLessThanOrEqual(1e-5 * layer.l1[n]);
          expect(Math.abs(b.layers[k].sum[n] - layer.sum[n]), `${method} ${layer.name}`).toBeLessThanOrEqual(1e-5 * layer.l1[n]);
        }
      });
    }
  });
});
