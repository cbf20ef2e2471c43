import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PACE_FROM_MS, POLL_BELOW_MS, POLL_TRIAL_EVERY, mapWhenDone, nextEstimate, pacesPolling, sleepFor } from '../src/gpu/wait.js';
import { testGpu } from './helpers/gpu.js';

/** A kernel long enough to outlast several probes. */
const SLOW_KERNEL = `
  @group(0) @binding(0) var<storage, read_write> out: array<f32>;
  @compute @workgroup_size(8)
  fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    var x = f32(gid.x);
    for (var i = 0u; i < 3000000u; i++) { x = fma(x, 0.999999, 1.0); }
    out[gid.x] = x;
  }`;

// mapWhenDone waits for a long kernel in short probes that cancel their map (Dawn's Node
// binding polls while one is pending): the buffers still end up mapped with the kernel's
// results, whether the estimate is missing, too short, or long enough.
describe('mapWhenDone', () => {
  it('maps the results of a long kernel after probing, for no, short and long estimates', async () => {
    const { device } = await testGpu();
    const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: SLOW_KERNEL }), entryPoint: 'main' } });
    const out = device.createBuffer({ size: 64 * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const expected = Array.from({ length: 64 }, () => 0);
    for (const estimate of [undefined, 25, 5000]) {
      const readback = device.createBuffer({ size: 64 * 4, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
      let cancelled = 0;
      const unmap = readback.unmap.bind(readback);
      readback.unmap = () => { cancelled++; unmap(); };
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] }));
      pass.dispatchWorkgroups(8);
      pass.end();
      encoder.copyBufferToBuffer(out, 0, readback, 0, 64 * 4);
      device.queue.submit([encoder.finish()]);
      const afterSleep = await mapWhenDone([readback], estimate);
      // The long estimate sleeps past the kernel: its outputs are mapped within the first 2 ms
      // probe (under 1 ms on an idle host; other test files on both cores made it 1.2 ms once).
      if (estimate === 5000) expect(afterSleep).toBeLessThan(2);
      else expect(afterSleep).toBeGreaterThan(2);
      const values = Array.from(new Float32Array(readback.getMappedRange()));
      if (estimate === undefined) values.forEach((v, i) => { expected[i] = v; });
      // x converges towards 1e6 from every start: all large, equal run to run.
      expect(values.every((v) => v > 9e5), `estimate ${estimate}`).toBe(true);
      expect(values).toEqual(expected);
      // Without an estimate or with one far too short, the kernel outlasts the first probe.
      if (estimate !== 5000) expect(cancelled, `estimate ${estimate}`).toBeGreaterThan(0);
      else expect(cancelled).toBe(0);
      readback.unmap();
      readback.destroy();
    }
    out.destroy();
  });
});

// A wait at once keeps the binding polling: paced, the JS thread naps between its polls and
// leaves the cores to the adapter. Main-thread CPU from /proc (Linux, as CI): polling back to
// back takes most of the wait, paced well under half of it.
describe.runIf(existsSync(`/proc/self/task/${process.pid}/stat`))('paced waiting', () => {
  const mainThreadCpuMs = () => {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
  };

  it('a paced wait maps the same results with the JS thread mostly asleep', async () => {
    const { device } = await testGpu();
    const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: SLOW_KERNEL }), entryPoint: 'main' } });
    const out = device.createBuffer({ size: 64 * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const results: number[][] = [];
    const shares: number[] = [];
    for (const paced of [false, true]) {
      const readback = device.createBuffer({ size: 64 * 4, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] }));
      // Long enough for the 10 ms clock ticks of /proc's CPU times.
      for (let i = 0; i < 4; i++) pass.dispatchWorkgroups(8);
      pass.end();
      encoder.copyBufferToBuffer(out, 0, readback, 0, 64 * 4);
      const cpu = mainThreadCpuMs();
      const start = performance.now();
      device.queue.submit([encoder.finish()]);
      await mapWhenDone([readback], 0, POLL_BELOW_MS, paced);
      shares.push((mainThreadCpuMs() - cpu) / (performance.now() - start));
      results.push(Array.from(new Float32Array(readback.getMappedRange())));
      readback.unmap();
      readback.destroy();
    }
    out.destroy();
    console.log(`main-thread CPU / wait: polling ${shares[0].toFixed(2)}, paced ${shares[1].toFixed(2)}`);
    expect(results[1]).toEqual(results[0]);
    expect(results[1].every((v) => v > 9e5)).toBe(true);
    expect(shares[1]).toBeLessThan(0.4);
  });

  it('paces the waits of CPU adapters for runs from PACE_FROM_MS on', () => {
    expect(pacesPolling(PACE_FROM_MS, true)).toBe(true);
    expect(pacesPolling(PACE_FROM_MS - 0.1, true)).toBe(false);
    expect(pacesPolling(2 * PACE_FROM_MS, false)).toBe(false);
  });
});

// The sleep estimate of the next run of a plan: the time until the outputs were mapped, shrunk
// when the last sleep already outlasted the work, and growing by at most a quarter per run.
describe('nextEstimate', () => {
  it('starts from the first run, follows runs the sleep fell short of, shrinks after oversleeping, and grows slowly', () => {
    expect(nextEstimate(undefined, 14, 0)).toBe(14);
    expect(nextEstimate(10, 11, 1.5)).toBe(11);
    expect(nextEstimate(10, 9.6, 2)).toBe(9.6);
    expect(nextEstimate(10, 10.2, 0.3)).toBeCloseTo(9.5, 12);
    expect(nextEstimate(10, 40, 30)).toBe(12.5);
    // Overslept with the passes' own time known: down to it, by at most half per run.
    expect(nextEstimate(60, 60.5, 0.2, 13)).toBe(30);
    expect(nextEstimate(20, 19.5, 0.2, 13)).toBe(13);
    expect(nextEstimate(10, 10.2, 0.3, 9.8)).toBeCloseTo(9.5, 12);
    expect(sleepFor(50)).toBeCloseTo(47.5, 12);
    // A run shorter than POLL_BELOW_MS is waited for at once.
    expect(sleepFor(POLL_BELOW_MS - 0.1)).toBe(0);
    // Near the threshold, every POLL_TRIAL_EVERY-th run is polled for; far above it, none.
    expect(sleepFor(POLL_BELOW_MS + 1, POLL_TRIAL_EVERY)).toBe(0);
    expect(sleepFor(POLL_BELOW_MS + 1, POLL_TRIAL_EVERY + 1)).toBeGreaterThan(0);
    expect(sleepFor(2 * POLL_BELOW_MS, POLL_TRIAL_EVERY)).toBeGreaterThan(0);
    // Runs whose outputs map 0.4 ms after the work ends; `work(sleep)` is how long the work takes
    // when the JS thread sleeps that long first.
    // `passes`: the adapter's timestamps, a share of the work (undefined: none).
    const simulate = (work: (sleep: number) => number, start: number, trials = true, passes?: number) => {
      let estimate = start;
      const sleeps: number[] = [];
      for (let run = 1; run <= 100; run++) {
        const sleep = sleepFor(estimate, trials ? run : 1);
        const mapped = Math.max(sleep, work(sleep)) + 0.4;
        estimate = nextEstimate(estimate, mapped, mapped - sleep, passes === undefined ? undefined : passes * work(sleep));
        sleeps.push(sleep);
      }
      return sleeps;
    };
    // Work well above the threshold: the sleeps settle within a tenth short of it, from an
    // estimate far too long or far too short.
    const long = 2.5 * POLL_BELOW_MS;
    for (const start of [3, 4 * long]) {
      const sleeps = simulate(() => long, start);
      // Short of POLL_BELOW_MS the run is polled for: from 3 ms, the estimate grows past it.
      expect(sleeps[0]).toBe(start < POLL_BELOW_MS ? 0 : sleepFor(start));
      for (const sleep of sleeps.slice(-20)) {
        expect(sleep, `from ${start} ms`).toBeLessThan(long + 0.4);
        expect(sleep, `from ${start} ms`).toBeGreaterThan(0.9 * long);
      }
    }
    // With the passes' timestamps (here 90% of the work), an estimate 20 times too long is gone
    // within 6 runs (at a twentieth per run it would take about 60), and the sleeps settle as
    // without them.
    for (const [start, settled] of [[20 * long, 6], [3, 80]]) {
      const sleeps = simulate(() => long, start, true, 0.9);
      for (const sleep of sleeps.slice(settled)) {
        expect(sleep, `from ${start} ms`).toBeLessThan(long + 0.4);
        expect(sleep, `from ${start} ms`).toBeGreaterThan(0.85 * long);
      }
    }
    expect(simulate(() => long, 20 * long)[30]).toBeGreaterThan(2 * long);
    // Work shorter than POLL_BELOW_MS: once a too long estimate has shrunk below it, no sleeps.
    const short = simulate(() => POLL_BELOW_MS / 2, 2 * POLL_BELOW_MS);
    expect(short[0]).toBeGreaterThan(0);
    expect(short.slice(-60).every((sleep) => sleep === 0)).toBe(true);
    // Work that takes half the threshold polled for and 1.3 times it slept through (lavapipe's
    // threads waking from idle cores): sleeping alone would keep the estimate above the threshold
    // for good; the polled trials find the faster way and keep to it.
    const slowedBySleeping = (sleep: number) => (sleep > 0 ? 1.3 : 0.5) * POLL_BELOW_MS;
    expect(simulate(slowedBySleeping, 1.5 * POLL_BELOW_MS, false).slice(-20).every((sleep) => sleep > 0)).toBe(true);
    expect(simulate(slowedBySleeping, 1.5 * POLL_BELOW_MS).slice(-60).every((sleep) => sleep === 0)).toBe(true);
  });
});
