import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { InputShapeError, ModelFormatError, UnsupportedLayerError } from '../src/errors.js';
import { acquireGpu, type Gpu } from '../src/gpu/device.js';
import { readKerasModel } from '../src/keras/load.js';
import { Model } from '../src/model.js';
import { testGpu } from './helpers/gpu.js';
import { fixture, fixturesAvailable } from './helpers/fixtures.js';
import { rng, SyntheticModel } from './helpers/synthetic.js';

// Bad input gets an error that names the problem, raised before any GPU work where possible.
const available = fixturesAvailable();

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
