import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { InputShapeError, InputValueError, ModelFormatError, NumericalError, UnsupportedLayerError } from '../src/errors.js';
import { acquireGpu, type Gpu } from '../src/gpu/device.js';
import { readKerasModel } from '../src/keras/load.js';
import { Model } from '../src/model.js';
import { syntheticOnGpu, testGpu } from './helpers/gpu.js';
import { fixture, fixturesAvailable } from './helpers/fixtures.js';
import { randomArray, rng, SyntheticModel } from './helpers/synthetic.js';

// Bad input gets an error that names the problem, raised before any GPU work where possible.
const available = fixturesAvailable();

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const absMax = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

function tinyResidualNet(m: SyntheticModel): string {
  const x = m.input([8, 8, 2]);
  const conv = m.layer('Conv2D', { filters: 4, kernel_size: [3, 3], padding: 'same', activation: 'relu' }, [x], { kernel: [3, 3, 2, 4], bias: [4] });
  const conv2 = m.layer('Conv2D', { filters: 4, kernel_size: [3, 3], padding: 'same' }, [conv], { kernel: [3, 3, 4, 4], bias: [4] });
  const sum = m.layer('Add', {}, [conv, conv2]);
  const pool = m.layer('MaxPooling2D', { pool_size: [2, 2] }, [sum]);
  const flat = m.layer('Flatten', {}, [pool]);
  return m.layer('Dense', { units: 5 }, [flat], { kernel: [64, 5], bias: [5] });
}

/** A GPU stand-in that fails the test if anything touches it. */
const untouchableGpu = new Proxy({} as Gpu, {
  get(_, key) {
    throw new Error(`GPU was touched (${String(key)}) before the bad input was reported`);
  },
});

describe('model files', () => {
  it('random bytes: not a Keras model', async () => {
    const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256);
    await expect(readKerasModel(bytes)).rejects.toThrow(/not a Keras model: neither HDF5/);
  });

  it('empty file', async () => {
    await expect(readKerasModel(new Uint8Array(0))).rejects.toThrow(/is empty/);
  });

  it('missing file names the path', async () => {
    await expect(readKerasModel('/nonexistent/model.h5')).rejects.toThrow(/could not read model file '\/nonexistent\/model.h5'/);
  });

  it.runIf(available)('truncated legacy .h5 at several lengths: a format error, never a crash', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('models/KILNETA-CNN_MNIST/mnist_cnn.h5')));
    for (const fraction of [0.01, 0.3, 0.6, 0.95]) {
      const cut = bytes.slice(0, Math.floor(bytes.length * fraction));
      await expect(readKerasModel(cut), `cut at ${fraction}`).rejects.toThrow(ModelFormatError);
    }
  });

  it.runIf(available)('truncated and corrupted .keras archives', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('models/generated/k3_cnn_mnist_trained.keras')));
    await expect(readKerasModel(bytes.slice(0, bytes.length - 100))).rejects.toThrow(/truncated or corrupt ZIP/);
    await expect(readKerasModel(bytes.slice(0, Math.floor(bytes.length / 2)))).rejects.toThrow(ModelFormatError);
  });

  it.runIf(available)('weights-only files without an architecture say what is missing', async () => {
    await expect(readKerasModel(fixture('models/generated/k3_cnn_mnist_trained.weights.h5'))).rejects.toThrow(/weights only; pass its architecture/);
    await expect(readKerasModel(fixture('models/innvestigate/LeNetWeights.h5'))).rejects.toThrow(/weights only/);
  });

  it.runIf(available)('an architecture JSON given as the model', async () => {
    await expect(readKerasModel(fixture('models/generated/k3_cnn_mnist_trained.json'))).rejects.toThrow(/is a JSON file, not a model/);
  });

  it.runIf(available)('an unsupported layer is named with its class and position, before any GPU work', async () => {
    const arch = JSON.parse(readFileSync(fixture('models/generated/k3_cnn_mnist_trained.json'), 'utf8'));
    const layer = arch.config.layers.find((l: { class_name: string }) => l.class_name === 'MaxPooling2D');
    layer.class_name = 'FancyPooling2D';
    const load = Model.load(fixture('models/generated/k3_cnn_mnist_trained.weights.h5'), { config: arch, gpu: untouchableGpu });
    await expect(load).rejects.toThrow(UnsupportedLayerError);
    await expect(Model.load(fixture('models/generated/k3_cnn_mnist_trained.weights.h5'), { config: arch, gpu: untouchableGpu }))
      .rejects.toThrow(new RegExp(`layer '${layer.config.name}' \\(FancyPooling2D, position \\d+\\) is not supported`));
  });

  it.runIf(available)('a weight of the wrong shape names the layer and both shapes', async () => {
    const arch = JSON.parse(readFileSync(fixture('models/generated/k3_cnn_mnist_trained.json'), 'utf8'));
    const conv = arch.config.layers.find((l: { class_name: string }) => l.class_name === 'Conv2D');
    conv.config.filters += 1;
    await expect(Model.load(fixture('models/generated/k3_cnn_mnist_trained.weights.h5'), { config: arch, gpu: untouchableGpu }))
      .rejects.toThrow(/'kernel' has shape \[3, 3, 1, 16\], the layer needs \[3, 3, 1, 17\]/);
  });

  it('unknown activation, shared layers and cycles are reported', async () => {
    const m = new SyntheticModel(rng(1));
    const x = m.input([4, 4, 1]);
    const keras = m.build(m.layer('Conv2D', { filters: 1, kernel_size: [1, 1], padding: 'valid', activation: 'mish' }, [x], { kernel: [1, 1, 1, 1], bias: [1] }));
    await expect(Model.fromKeras(keras, { gpu: untouchableGpu })).rejects.toThrow(/activation 'mish' is not supported/);
    const cyclic = new SyntheticModel(rng(2));
    const input = cyclic.input([3]);
    cyclic.layer('Add', { name: 'a' }, [input, 'b']);
    cyclic.layer('Add', { name: 'b' }, [input, 'a']);
    await expect(Model.fromKeras(cyclic.build('b'), { gpu: untouchableGpu })).rejects.toThrow(/cycle/);
  });
});

describe('inputs', () => {
  const models: Model[] = [];
  afterEach(() => models.splice(0).forEach((m) => m.destroy()));

  it.runIf(available)('wrong shape, partial samples and non-finite values', async () => {
    const model = await Model.load(fixture('models/generated/k3_cnn_mnist_trained.keras'), { gpu: await testGpu() });
    models.push(model);
    await expect(model.predict(new Float32Array(28 * 28 * 3), [1, 28, 28, 3])).rejects.toThrow(/does not match the model's input \[batch, 28, 28, 1\]/);
    await expect(model.predict(new Float32Array(28 * 28 + 5))).rejects.toThrow(InputShapeError);
    const x = new Float32Array(2 * 28 * 28);
    x[900] = NaN;
    await expect(model.predict(x)).rejects.toThrow(/input value 900 is NaN/);
  });

  it('NaN and infinite pixels: an InputValueError naming the value and its sample, on every path', async () => {
    const model = await Model.load('weights/fashion_cnn.h5', { gpu: await testGpu() });
    models.push(model);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const x = new Float32Array(3 * 28 * 28).fill(0.5);
      x[28 * 28 + 7] = bad;
      for (const call of [model.predict(x), model.explain(x), model.explainOnGpu(x, { method: 'epsilon' })]) {
        await expect(call).rejects.toThrow(InputValueError);
        await expect(call).rejects.toThrow(new RegExp(`input value ${28 * 28 + 7} is ${bad} \\(sample 1\\)`));
      }
    }
    expect(new InputValueError('x')).toBeInstanceOf(InputShapeError);
  });

  it('batch 0 and inputs that are not a Float32Array', async () => {
    const model = await Model.load('weights/fashion_cnn.h5', { gpu: await testGpu() });
    models.push(model);
    await expect(model.predict(new Float32Array(0))).rejects.toThrow(/input is empty \(batch 0\)/);
    await expect(model.explain(new Float32Array(0), { shape: [0, 28, 28, 1] })).rejects.toThrow(InputShapeError);
    await expect(model.predict(new Float64Array(28 * 28) as unknown as Float32Array)).rejects.toThrow(/must be a Float32Array, got \[object Float64Array\]/);
    await expect(model.predict(Array(28 * 28).fill(0) as unknown as Float32Array)).rejects.toThrow(InputShapeError);
  });

  it('a batch beyond one transfer buffer runs as several submissions, with the results of one', async () => {
    const perSample = 8 * 8 * 2;
    // Storage bindings of 3 samples, transfer buffers of 10: a batch of 40 needs 5 submissions of 3 micro-batches.
    const small = await syntheticOnGpu(31, tinyResidualNet, { maxStorageBufferBindingSize: 3 * 8 * 8 * 4 * 4, maxBufferSize: 10 * perSample * 4 });
    const plain = await syntheticOnGpu(31, tinyResidualNet);
    models.push(small.model, plain.model);
    const x = randomArray(plain.random, 40 * perSample);
    for (const method of ['rlrp', 'epsilon-plus'] as const) {
      const split = await small.model.explain(x, { method });
      const whole = await plain.model.explain(x, { method });
      expect(split.targets).toEqual(whole.targets);
      expect(maxAbsDiff(split.logits, whole.logits)).toBeLessThanOrEqual(1e-6 * absMax(whole.logits));
      expect(maxAbsDiff(split.relevance, whole.relevance)).toBeLessThanOrEqual(1e-5 * absMax(whole.relevance));
    }
    expect(maxAbsDiff((await small.model.predict(x)).logits, (await plain.model.predict(x)).logits)).toBeLessThanOrEqual(1e-6 * absMax((await plain.model.predict(x)).logits));
    // A GPU-resident result must fit one buffer: the error says so and states the limit.
    await expect(small.model.explainOnGpu(x)).rejects.toThrow(/needs 20480 bytes, more than one buffer may hold \(adapter maxBufferSize 5120\); explain it in smaller batches/);
  });

  it('weights that overflow float32: a NumericalError, never NaN logits or a NaN heatmap', async () => {
    const { model, random } = await syntheticOnGpu(32, (m) => {
      const x = m.input([8]);
      const hidden = m.layer('Dense', { units: 8 }, [x], { kernel: [8, 8], bias: [8] }, 1e20);
      return m.layer('Dense', { units: 3 }, [hidden], { kernel: [8, 3], bias: [3] }, 1e20);
    });
    models.push(model);
    const x = randomArray(random, 2 * 8);
    await expect(model.predict(x)).rejects.toThrow(NumericalError);
    await expect(model.predict(x)).rejects.toThrow(/logits of sample 0 are not finite .*float32 overflow/);
    await expect(model.explain(x)).rejects.toThrow(NumericalError);
    await expect(model.explainOnGpu(x)).rejects.toThrow(NumericalError);
  });
});

describe('the GPU', () => {
  it('no adapter: a clear error, not a crash', async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: { requestAdapter: async () => null } }, configurable: true });
    try {
      await expect(acquireGpu()).rejects.toThrow(/no WebGPU adapter found: navigator.gpu.requestAdapter\(\) returned null/);
    } finally {
      if (saved) Object.defineProperty(globalThis, 'navigator', saved);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
  });
});
