import { afterAll, describe, expect, it } from 'vitest';
import { Model } from '../src/model.js';
import { syntheticOnGpu, testGpu } from './helpers/gpu.js';
import { randomArray } from './helpers/synthetic.js';
import { fixture, fixturesAvailable, readNpy } from './helpers/fixtures.js';

// explain() beyond the input map: relevance at a layer by Keras name, the result left on the
// GPU for callers that keep working there, and bad options rejected before GPU work.
const available = fixturesAvailable();

describe.runIf(available)('explain API', () => {
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));
  const load = async () => {
    const model = await Model.load(fixture('models/generated/k3_cnn_mnist_trained.keras'), { gpu: await testGpu() });
    models.push(model);
    return { model, x: readNpy(fixture('reference/k3_cnn_mnist_trained/inputs.npy')) };
  };

  it('relevance at a layer by Keras name: its shape, and its sums agree with the per-layer report', async () => {
    const { model, x } = await load();
    const conv = model.keras.config.layers.find((l) => l.className === 'Conv2D')!.name;
    const result = await model.explain(x.data, { method: 'rlrp', shape: x.shape, layer: conv });
    const node = model.graph.nodes[model.graph.layerOutputs.get(conv)!];
    expect(result.shape).toEqual([x.shape[0], ...node.shape]);
    expect(result.relevance.length).toBe(x.shape[0] * node.shape.reduce((a, b) => a * b, 1));
    const report = result.layers.find((l) => l.name === conv)!;
    const per = result.relevance.length / result.batch;
    for (let n = 0; n < result.batch; n++) {
      let sum = 0;
      let l1 = 0;
      for (let i = n * per; i < (n + 1) * per; i++) { sum += result.relevance[i]; l1 += Math.abs(result.relevance[i]); }
      expect(sum).toBeCloseTo(report.sum[n], 4);
      expect(l1).toBeCloseTo(report.l1[n], 4);
      expect(l1).toBeCloseTo(1, 4); // R-LRP without merges keeps |R|_1 = 1 at every layer
    }
    const atInput = await model.explain(x.data, { method: 'rlrp', shape: x.shape });
    const inputName = model.keras.config.layers.find((l) => l.className === 'InputLayer')!.name;
    expect(Array.from((await model.explain(x.data, { method: 'rlrp', shape: x.shape, layer: inputName })).relevance)).toEqual(Array.from(atInput.relevance));
    await expect(model.explain(x.data, { layer: 'nope' })).rejects.toThrow(/no layer named 'nope'/);
  });

  // The report's statistics come from several places (a norm pass, R-LRP's rescale, a buffer
  // shared with an activation): each must equal the relevance actually held at that layer.
  it('every layer of a residual model: the report equals the sums of the relevance at that layer', async () => {
    const model = await Model.load(fixture('models/generated/k3_resnet_cifar_trained.keras'), { gpu: await testGpu() });
    models.push(model);
    const x = readNpy(fixture('reference/k3_resnet_cifar_trained/inputs.npy'));
    const batch = Math.min(2, x.shape[0]);
    const input = x.data.subarray(0, (x.data.length / x.shape[0]) * batch);
    for (const method of ['rlrp', 'rlrp-plus', 'epsilon-plus-flat', 'gradient'] as const) {
      const { layers } = await model.explain(input, { method });
      for (const { name, l1, sum } of layers) {
        const at = await model.explain(input, { method, layer: name });
        const per = at.relevance.length / batch;
        for (let n = 0; n < batch; n++) {
          let s = 0;
          let a = 0;
          for (let i = n * per; i < (n + 1) * per; i++) { s += at.relevance[i]; a += Math.abs(at.relevance[i]); }
          const scale = Math.max(a, 1e-30);
          expect(Math.abs(l1[n] - a) / scale, `${method} ${name} L1`).toBeLessThanOrEqual(1e-5);
          expect(Math.abs(sum[n] - s) / scale, `${method} ${name} sum`).toBeLessThanOrEqual(1e-5);
        }
      }
    }
  });

  it('explainOnGpu leaves the relevance in a caller-owned GPUBuffer equal to explain()', async () => {
    const { model, x } = await load();
    const { device } = model.gpu;
    const onHost = await model.explain(x.data, { method: 'rlrp-plus', shape: x.shape });
    const onGpu = await model.explainOnGpu(x.data, { method: 'rlrp-plus', shape: x.shape });
    expect(onGpu.targets).toEqual(onHost.targets);
    const bytes = onHost.relevance.byteLength;
    const readback = device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(onGpu.relevance, 0, readback, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    expect(Array.from(new Float32Array(readback.getMappedRange().slice(0)))).toEqual(Array.from(onHost.relevance));
    readback.destroy();
    onGpu.relevance.destroy();
  });

  it('R-LRP maps of a bias-free ReLU net do not change when the input is scaled by c > 0', async () => {
    const { model, random } = await syntheticOnGpu(77, (m) => {
      const c = m.layer('Conv2D', { filters: 5, kernel_size: [3, 3], padding: 'same', activation: 'relu', use_bias: false }, [m.input([7, 6, 2])], { kernel: [3, 3, 2, 5] });
      const p = m.layer('MaxPooling2D', { pool_size: [2, 2] }, [c]);
      return m.layer('Dense', { units: 4, use_bias: false }, [m.layer('Flatten', {}, [p])], { kernel: [45, 4] });
    });
    models.push(model);
    const x = randomArray(random, 84, 1, 0.5);
    for (const method of ['rlrp', 'rlrp-plus'] as const) {
      const base = await model.explain(x, { method, target: 2 });
      for (const c of [1e-3, 3.7, 250]) {
        const scaled = await model.explain(x.map((v) => v * c), { method, target: 2 });
        base.relevance.forEach((v, i) => expect(Math.abs(scaled.relevance[i] - v)).toBeLessThanOrEqual(1e-5));
      }
    }
  });

  it('bad options fail before any GPU work', async () => {
    const { model, x } = await load();
    await expect(model.explain(x.data, { method: 'nope' as 'rlrp' })).rejects.toThrow(/unknown method 'nope'/);
    await expect(model.explain(x.data, { method: 'epsilon', epsilon: -1 })).rejects.toThrow(/epsilon must be a finite number >= 0/);
    await expect(model.explain(x.data, { method: 'alpha-beta', alpha: 2, beta: 2 })).rejects.toThrow(/alpha - beta must be 1/);
    await expect(model.explain(x.data, { target: [1, 2] })).rejects.toThrow(/2 targets for a batch of 6/);
    await expect(model.explain(x.data.subarray(0, 100))).rejects.toThrow(/not a whole number of samples/);
  });
});
