import { describe, expect, it } from 'vitest';
import { GpuResources } from '../src/gpu/resources.js';
import { PassTimer } from '../src/gpu/timer.js';
import { testGpu } from './helpers/gpu.js';

// Profiles time every dispatch as its own pass: a batch of 8 through VGG19's Winograd chunks is
// thousands of passes, more than one query set holds (4096 queries, two per pass).
describe('pass timer', () => {
  it('times more passes than one query set holds, each label once per pass', async () => {
    const gpu = await testGpu();
    expect(gpu.hasTimestamps, `${gpu.adapter} has timestamp queries`).toBe(true);
    const res = new GpuResources(gpu);
    const passes = 5000;
    const timer = new PassTimer(gpu, res, passes);
    const encoder = gpu.device.createCommandEncoder();
    for (let i = 0; i < passes; i++) encoder.beginComputePass({ timestampWrites: timer.pass(`pass ${i % 3}`) }).end();
    timer.finish(encoder);
    gpu.device.pushErrorScope('validation');
    gpu.device.queue.submit([encoder.finish()]);
    expect((await gpu.device.popErrorScope())?.message).toBeUndefined();
    const totals = await timer.read();
    expect(Object.keys(totals ?? {}).sort()).toEqual(['pass 0', 'pass 1', 'pass 2']);
    for (const ms of Object.values(totals!)) expect(ms).toBeGreaterThanOrEqual(0);
    timer.destroy();
    res.destroy();
  });
});
