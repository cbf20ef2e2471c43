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

  // Dawn rounds timestamps down to multiples of 65536 ns unless told not to (acquireGpu does, in
  // Node): a profile of a small model would be a few ticks of that clock.
  it('reads timestamps at full resolution, not rounded to 65.5 us', async () => {
    const gpu = await testGpu();
    const res = new GpuResources(gpu);
    const passes = 200;
    const timer = new PassTimer(gpu, res, passes);
    const encoder = gpu.device.createCommandEncoder();
    for (let i = 0; i < passes; i++) encoder.beginComputePass({ timestampWrites: timer.pass(`pass ${i}`) }).end();
    timer.finish(encoder);
    gpu.device.queue.submit([encoder.finish()]);
    const totals = Object.values((await timer.read())!);
    const quantum = 65536e-6;
    const offGrid = totals.filter((ms) => Math.abs(ms / quantum - Math.round(ms / quantum)) > 1e-6);
    expect(offGrid.length, `${totals.length} pass times, in ms: ${totals.slice(0, 8).join(', ')}`).toBeGreaterThan(passes / 2);
    timer.destroy();
    res.destroy();
  });
});
