import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GpuError } from '../src/errors.js';
import { acquireGpu } from '../src/gpu/device.js';
import { parseNpy } from '../src/io/npy.js';
import { Model } from '../src/model.js';
import { syntheticOnGpu } from './helpers/gpu.js';
import { randomArray } from './helpers/synthetic.js';

// A lost device rejects what was pending with a GpuError; the next call gets a new device when
// the library created the old one, and a clear error when the caller did.
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const MODEL = 'weights/fashion_cnn.h5';
const sample = parseNpy(readFileSync('weights/fashion_samples.npy'));

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('a lost device', () => {
  it('between calls: the next call runs on a new device with the same results', async () => {
    const gpu = await acquireGpu();
    const model = await Model.load(MODEL, { gpu });
    const before = await model.explain(sample.data, { shape: sample.shape });
    const old = gpu.device;
    old.destroy();
    const after = await model.explain(sample.data, { shape: sample.shape });
    expect(gpu.device).not.toBe(old);
    expect(model.gpu.device).toBe(gpu.device);
    expect(maxAbsDiff(after.logits, before.logits)).toBe(0);
    expect(maxAbsDiff(after.relevance, before.relevance)).toBe(0);
    model.dispose();
    gpu.device.destroy();
  });

  it('mid-run: the call on the lost device rejects with a GpuError; queued and later calls run on a new one', async () => {
    const gpu = await acquireGpu();
    const model = await Model.load(MODEL, { gpu });
    const reference = await model.explain(sample.data, { shape: sample.shape });
    // The device goes away right after the next submission: that call is then waiting on lost work.
    const lost = gpu.device;
    const submit = lost.queue.submit.bind(lost.queue);
    lost.queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
      submit(buffers);
      lost.destroy();
    };
    const running = model.explain(sample.data, { shape: sample.shape });
    const queued = model.predict(sample.data, sample.shape);
    await expect(running).rejects.toThrow(GpuError);
    await expect(running).rejects.toThrow(/device was lost/);
    expect(maxAbsDiff((await queued).logits, reference.logits)).toBe(0);
    const again = await model.explain(sample.data, { shape: sample.shape });
    expect(maxAbsDiff(again.relevance, reference.relevance)).toBe(0);
    model.dispose();
    gpu.device.destroy();
  });

  it("the caller's own GPUDevice: a clear error, never a silent new device", async () => {
    const { device } = await acquireGpu();
    const model = await Model.load(MODEL, { device });
    await model.predict(sample.data, sample.shape);
    device.destroy();
    await expect(model.predict(sample.data, sample.shape)).rejects.toThrow(/GPUDevice passed in was lost .*create a new device and load the model again/);
    model.dispose();
  });

  it('an adapter that vanishes: a GpuError that says so; once it is back, calls work again', async () => {
    const gpu = await acquireGpu();
    const model = await Model.load(MODEL, { gpu });
    const reference = await model.predict(sample.data, sample.shape);
    gpu.device.destroy();
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: { requestAdapter: async () => null } }, configurable: true });
    try {
      await expect(model.predict(sample.data, sample.shape)).rejects.toThrow(/device was lost .*could not be replaced: no WebGPU adapter found/);
    } finally {
      if (saved) Object.defineProperty(globalThis, 'navigator', saved);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
    expect(maxAbsDiff((await model.predict(sample.data, sample.shape)).logits, reference.logits)).toBe(0);
    model.dispose();
    gpu.device.destroy();
  });
});

describe('validation errors', () => {
  it('are GpuErrors that name the layer whose dispatch failed', async () => {
    const { model, random } = await syntheticOnGpu(5, (m) => {
      const x = m.input([6, 6, 2]);
      const pooled = m.layer('MaxPooling2D', { name: 'first_pool', pool_size: [2, 2] }, [x]);
      return m.layer('Rescaling', { name: 'second_rescale', scale: 2, offset: 1 }, [pooled]);
    });
    const input = randomArray(random, 2 * 6 * 6 * 2);
    await model.predict(input); // compiled while dispatches are still honest
    // Make the second dispatch of every pass ask for more workgroups than any adapter allows.
    const prototype = (globalThis as unknown as { GPUComputePassEncoder: { prototype: GPUComputePassEncoder } }).GPUComputePassEncoder.prototype;
    const honest = prototype.dispatchWorkgroups;
    let calls = 0;
    prototype.dispatchWorkgroups = function (this: GPUComputePassEncoder, x: number, y?: number, z?: number) {
      return honest.call(this, ++calls === 2 ? 2 ** 31 : x, y, z);
    };
    try {
      const failure = model.predict(input);
      await expect(failure).rejects.toThrow(GpuError);
      await expect(failure).rejects.toThrow(/running the model: WebGPU validation error: .*second_rescale/s);
    } finally {
      prototype.dispatchWorkgroups = honest;
    }
    expect((await model.predict(input)).logits.length).toBe(2 * 3 * 3 * 2);
    model.dispose();
  });
});
