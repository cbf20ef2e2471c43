import { describe, expect, it } from 'vitest';
import { DisposedError } from '../src/errors.js';
import type { Method } from '../src/rules/index.js';
import { syntheticOnGpu } from './helpers/gpu.js';
import { randomArray, type SyntheticModel } from './helpers/synthetic.js';

// Long runs: GPU buffers stay flat, dispose() frees every buffer the model made, and calls from
// several async callers at once give exactly what they give one after another.

/** A small residual net with every weighted layer kind, fast enough for a thousand explanations. */
function tinyNet(m: SyntheticModel): string {
  const x = m.input([8, 8, 2]);
  const conv = m.layer('Conv2D', { filters: 4, kernel_size: [3, 3], padding: 'same', activation: 'relu' }, [x], { kernel: [3, 3, 2, 4], bias: [4] });
  const depthwise = m.layer('DepthwiseConv2D', { kernel_size: [3, 3], padding: 'same', depth_multiplier: 1 }, [conv], { kernel: [3, 3, 4, 1], bias: [4] });
  const bn = m.layer('BatchNormalization', { epsilon: 1e-3 }, [depthwise], { gamma: [4], beta: [4], moving_mean: [4], moving_variance: [4] });
  const sum = m.layer('Add', {}, [conv, bn]);
  const pool = m.layer('MaxPooling2D', { pool_size: [2, 2] }, [sum]);
  const flat = m.layer('Flatten', {}, [pool]);
  return m.layer('Dense', { units: 5 }, [flat], { kernel: [64, 5], bias: [5] });
}

const METHODS: Method[] = ['rlrp', 'epsilon-plus', 'gradient'];
const RUNS = 1000;

describe('GPU memory over long runs', () => {
  it(`stays flat over ${RUNS} explanations, and dispose() frees every buffer`, async () => {
    const { model, random } = await syntheticOnGpu(21, tinyNet);
    const inputs = Array.from({ length: 4 }, (_, n) => randomArray(random, (1 + n) * 8 * 8 * 2));
    const weightsOnly = model.gpuMemory();
    expect(weightsOnly.buffers).toBeGreaterThan(0);
    // Warm-up: every method's plan compiled once, a forward plan, a GPU-resident explanation.
    for (const method of METHODS) await model.explain(inputs[0], { method });
    await model.predict(inputs[0]);
    const warm = model.gpuMemory();
    const samples: { run: number; buffers: number; bytes: number }[] = [];
    for (let run = 0; run < RUNS; run++) {
      const method = METHODS[run % METHODS.length];
      const input = inputs[0];
      if (run % 97 === 0) {
        const onGpu = await model.explainOnGpu(input, { method });
        onGpu.relevance.destroy(); // the caller's buffer, never counted as the model's
      } else {
        await model.explain(input, { method, target: run % 5 });
      }
      if (run % 10 === 0) await model.predict(input);
      if ((run + 1) % 100 === 0) samples.push({ run: run + 1, ...model.gpuMemory() });
    }
    console.log(`GPU memory: weights ${JSON.stringify(weightsOnly)}, after warm-up ${JSON.stringify(warm)}, every 100 runs: ${samples.map((s) => `${s.buffers}/${s.bytes}`).join(' ')}`);
    for (const sample of samples) expect({ buffers: sample.buffers, bytes: sample.bytes }).toEqual(warm);
    model.dispose();
    expect(model.gpuMemory()).toEqual({ buffers: 0, bytes: 0 });
    await expect(model.explain(inputs[0])).rejects.toThrow(DisposedError);
    model.destroy(); // an alias, and a second call is harmless
  });

  it('dispose() while the first call transforms the Winograd kernels: the call finishes, no freed buffer is touched', async () => {
    const wide = (m: SyntheticModel) => {
      const x = m.layer('Conv2D', { filters: 32, kernel_size: [3, 3], padding: 'same' }, [m.input([16, 16, 32])], { kernel: [3, 3, 32, 32], bias: [32] });
      return m.layer('Dense', { units: 3 }, [m.layer('Flatten', {}, [x])], { kernel: [16 * 16 * 32, 3], bias: [3] });
    };
    const { model, random } = await syntheticOnGpu(6, wide);
    const { device } = model.gpu;
    device.pushErrorScope('validation');
    const call = model.explain(randomArray(random, 16 * 16 * 32), { method: 'rlrp' });
    model.dispose();
    const { relevance } = await call;
    await device.queue.onSubmittedWorkDone();
    expect((await device.popErrorScope())?.message).toBeUndefined();
    expect(relevance.every(Number.isFinite)).toBe(true);
    expect(model.gpuMemory().buffers).toBe(0);
  });

  it('dispose() during calls in flight: they finish, then everything is freed', async () => {
    const { model, random } = await syntheticOnGpu(22, tinyNet);
    const input = randomArray(random, 3 * 8 * 8 * 2);
    const reference = await model.explain(input, { method: 'epsilon-plus' });
    const inFlight = [model.explain(input, { method: 'epsilon-plus' }), model.predict(input)];
    model.dispose();
    expect(() => model.checkInput(input)).not.toThrow();
    await expect(model.predict(input)).rejects.toThrow(/disposed/);
    const [explained] = await Promise.all(inFlight);
    expect(Array.from((explained as typeof reference).relevance)).toEqual(Array.from(reference.relevance));
    expect(model.gpuMemory()).toEqual({ buffers: 0, bytes: 0 });
  });
});

describe('concurrent calls on one model', () => {
  it('give the same results as the same calls one after another', async () => {
    const { model, random } = await syntheticOnGpu(23, tinyNet);
    const calls = Array.from({ length: 12 }, (_, n) => ({
      input: randomArray(random, (1 + (n % 3)) * 8 * 8 * 2),
      method: METHODS[n % METHODS.length],
      target: n % 4 === 0 ? undefined : n % 5,
    }));
    const sequential: Awaited<ReturnType<typeof model.explain>>[] = [];
    for (const c of calls) sequential.push(await model.explain(c.input, { method: c.method, target: c.target }));
    const concurrent = await Promise.all(calls.map((c, n) => (n % 4 === 3
      ? model.predict(c.input).then(() => model.explain(c.input, { method: c.method, target: c.target }))
      : model.explain(c.input, { method: c.method, target: c.target }))));
    concurrent.forEach((result, n) => {
      expect(Array.from(result.relevance), `call ${n}`).toEqual(Array.from(sequential[n].relevance));
      expect(Array.from(result.logits), `call ${n}`).toEqual(Array.from(sequential[n].logits));
      expect(result.targets).toEqual(sequential[n].targets);
    });
    model.dispose();
  });
});
