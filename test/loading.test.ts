import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Model } from '../src/model.js';
import { testGpu } from './helpers/gpu.js';
import { FIXTURE_MODELS, fixture, fixturesAvailable, loadDataset, preprocess, readNpy, referenceJson } from './helpers/fixtures.js';

// Model sources (path, bytes, file URL, http URL), configuration variants that Keras writes,
// and per-layer outputs against Keras's own recorded layer outputs.
const available = fixturesAvailable();

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const absMax = (x: ArrayLike<number>) => Array.from(x).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe.runIf(available)('loading', () => {
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));
  const file = 'models/generated/k3_cnn_mnist_trained.keras';
  const inputs = () => readNpy(fixture('reference/k3_cnn_mnist_trained/inputs.npy'));
  const expected = () => readNpy(fixture('reference/k3_cnn_mnist_trained/logits.npy')).data;

  async function logitsOf(source: Parameters<typeof Model.load>[0], options: Parameters<typeof Model.load>[1] = {}) {
    const model = await Model.load(source, { gpu: await testGpu(), ...options });
    models.push(model);
    const x = inputs();
    return (await model.predict(x.data, x.shape)).logits;
  }

  it('from a path, bytes, an ArrayBuffer, a file URL and an http URL', async () => {
    const bytes = new Uint8Array(readFileSync(fixture(file)));
    const server = createServer((req, res) => {
      if (req.url === '/model.keras') res.end(bytes);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const want = expected();
      for (const source of [fixture(file), bytes, bytes.slice().buffer, pathToFileURL(fixture(file)), `${url}/model.keras`]) {
        expect(maxAbsDiff(await logitsOf(source), want)).toBeLessThan(1e-3);
      }
      await expect(Model.load(`${url}/missing.keras`)).rejects.toThrow(/HTTP 404/);
    } finally {
      server.close();
    }
  });

  it("a caller's own GPUDevice: used as given, and still alive after the model is destroyed", async () => {
    const device = (await testGpu()).device;
    const model = await Model.load(fixture(file), { device });
    expect(model.gpu.device).toBe(device);
    expect(model.gpu.owned).toBe(false);
    const x = inputs();
    expect(maxAbsDiff((await model.predict(x.data, x.shape)).logits, expected())).toBeLessThan(1e-3);
    model.destroy();
    const probe = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    probe.destroy();
    await expect(model.predict(x.data, x.shape)).rejects.toThrow(/destroyed/);
  });

  it('Sequential without an InputLayer (input shape on the first layer), Keras 2 style', async () => {
    const arch = JSON.parse(readFileSync(fixture('models/generated/k3_cnn_mnist_trained.json'), 'utf8'));
    const [inputLayer, first] = arch.config.layers;
    arch.config.layers.shift();
    first.config.batch_input_shape = inputLayer.config.batch_shape;
    expect(maxAbsDiff(await logitsOf(fixture('models/generated/k3_cnn_mnist_trained.weights.h5'), { config: arch }), expected())).toBeLessThan(1e-3);
  });

  it("functional models saved with class 'Model' (older Keras)", async () => {
    const arch = JSON.parse(readFileSync(fixture('models/generated/k3_resnet_cifar_trained.json'), 'utf8'));
    arch.class_name = 'Model';
    const model = await Model.load(fixture('models/generated/k3_resnet_cifar_trained.weights.h5'), { gpu: await testGpu(), config: arch });
    models.push(model);
    const x = readNpy(fixture('reference/k3_resnet_cifar_trained/inputs.npy'));
    const want = readNpy(fixture('reference/k3_resnet_cifar_trained/logits.npy')).data;
    expect(maxAbsDiff((await model.predict(x.data, x.shape)).logits, want)).toBeLessThan(1e-3);
  });

  it('legacy weights-only file whose layer names differ from the architecture: paired by order, as Keras does', async () => {
    const arch = JSON.parse(readFileSync(fixture('models/innvestigate/LeNetWeights.arch.json'), 'utf8'));
    for (const layer of arch.config.layers) layer.config.name = `renamed_${layer.config.name}`;
    const model = await Model.load(fixture('models/innvestigate/LeNetWeights.h5'), { gpu: await testGpu(), config: arch });
    models.push(model);
    const data = loadDataset('fashion-mnist');
    const x = preprocess(data, (p) => (p - 72.94035) / 255, 0, 8);
    const want = readNpy(fixture('reference/innvestigate_lenet_weights/logits_fashion-mnist.npy')).data.subarray(0, 80);
    expect(maxAbsDiff((await model.predict(x)).logits, want)).toBeLessThan(1e-3);
  });
});

describe.runIf(available)("every layer's output matches Keras's recorded layer outputs", () => {
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));

  for (const spec of FIXTURE_MODELS) {
    it(spec.id, async () => {
      const form = spec.forms[0];
      const model = await Model.load(fixture(form.file), { gpu: await testGpu(), config: form.config ? fixture(form.config) : undefined });
      models.push(model);
      const ref = referenceJson(spec.id);
      const input = spec.referenceInputs
        ? readNpy(fixture('reference', spec.id, 'inputs.npy')).data.subarray(0, model.graph.nodes[model.graph.input].shape.reduce((a, b) => a * b, 1))
        : preprocess(loadDataset(spec.data!.name), spec.data!.preprocess, 0, 1);
      const layers: { name: string; file: string; class_name: string }[] = ref.layer_outputs.layers;
      // A Conv/Dense whose BatchNormalization was folded into it no longer has its own output;
      // its name maps to the folded node, which holds the BatchNormalization's output.
      const foldedAway = (name: string, i: number) => layers.slice(i + 1).some((later) => model.graph.layerOutputs.get(later.name) === model.graph.layerOutputs.get(name));
      // The final softmax is stripped: its Keras output (probabilities) is not a node of ours.
      const compared = layers.filter((l, i) => !foldedAway(l.name, i) && !(l.class_name === 'Softmax' || (l.name === layers[layers.length - 1].name && model.graph.outputSoftmax)));
      const outputs = await model.layerOutputs(input, compared.map((l) => l.name));
      for (const layer of compared) {
        const want = readNpy(fixture('reference', spec.id, layer.file)).data;
        const got = outputs.get(layer.name)!;
        expect(got.length, layer.name).toBe(want.length);
        expect(maxAbsDiff(got, want), `${layer.name} (${layer.class_name})`).toBeLessThanOrEqual(1e-4 * Math.max(absMax(want), 1e-6) + 1e-6);
      }
    });
  }
});
