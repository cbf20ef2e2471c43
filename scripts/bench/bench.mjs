// Benchmark (not a test). For each model and batch size: load time (and the time to read the
// file's bytes alone, and the upload's share of the load), forward and relevance times on the adapter (timestamp queries) for R-LRP
// and EpsilonPlusFlat, wall time, the JS thread's CPU time, GFLOP/s per conv/dense layer
// (profiled runs with a timestamp pair per dispatch) and GPU bytes held. Every run carries its own
// 100% line: a plain 1024^3 matmul (matmul-calibration.wgsl) timed the same way, once at the
// start and again right before each row's profiled runs (a shared host's CPU speed drifts over
// minutes; each row's efficiency is against its own calibration), and the pass floor: an almost
// empty kernel timed as a profiled layer is, the adapter's fixed cost per profiled dispatch, and
// the efficiency the row's layers would reach if each took only that. Medians of at least
// --runs (default 3) runs after a warm-up; fast models run on until a second has passed (at most
// 25 runs), since a shared host's hiccups hit single runs of a millisecond explanation whole.
// With --f16, batch 1 also runs with f16 kernels and
// reports their error against f32. Prints a table and writes bench-results/bench.json.
// Usage: node scripts/bench/bench.mjs [--apps] [--models a,b] [--runs N] [--batches 1,8] [--f16] [--out file.json]
//   --apps    adds the Keras Applications models that scripts/keras-apps/setup.sh writes
/* global GPUBufferUsage, GPUMapMode -- installed by acquireGpu (Dawn's globals) */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Model, acquireGpu, readKerasModel } from '../../dist/index.js';
import { relL2 } from '../lib/rel-l2.mjs';

const { values } = parseArgs({ options: { apps: { type: 'boolean' }, f16: { type: 'boolean' }, out: { type: 'string', default: 'bench-results/bench.json' }, models: { type: 'string' }, runs: { type: 'string', default: '3' }, batches: { type: 'string', default: '1,8' } } });
const runs = Number(values.runs);
const batches = values.batches.split(',').map(Number);
process.env.XDG_RUNTIME_DIR ??= '/tmp';

let models = [
  { name: 'fashion_cnn', file: 'weights/fashion_cnn.h5' },
  { name: 'fashion_resnet', file: 'weights/fashion_resnet.h5' },
];
if (values.apps) {
  for (const name of ['mobilenet', 'resnet50', 'vgg16', 'vgg19']) models.push({ name, file: join('.cache/keras-apps', `${name}.h5`) });
}
if (values.models) {
  const wanted = values.models.split(',');
  models = [...models, ...['mobilenet', 'resnet50', 'vgg16', 'vgg19'].map((name) => ({ name, file: join('.cache/keras-apps', `${name}.h5`) }))].filter((m, i, all) => wanted.includes(m.name) && all.findIndex((o) => o.name === m.name) === i);
}
for (const { file } of models) if (!existsSync(file)) throw new Error(`${file} is missing: run scripts/keras-apps/setup.sh first`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const product = (xs) => xs.reduce((a, b) => a * b, 1);

/** CPU milliseconds of the JS (main) thread alone: lavapipe's worker threads live in the same process. */
function mainThreadCpuMs() {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
}

/**
 * Times of one kernel's dispatch, each in a timestamped pass of its own (as a profiled layer is
 * timed): `rounds` submissions of `passes` passes, the first a warm-up. `pause(times)` is how long
 * the JS thread sleeps before mapping each round's times (0: it waits at once).
 */
async function passTimes(gpu, code, buffers, workgroups, { passes, rounds, pause }) {
  const d = gpu.device;
  const pipeline = await d.createComputePipelineAsync({ layout: 'auto', compute: { module: d.createShaderModule({ code }), entryPoint: 'main' } });
  const bindGroup = d.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const querySet = d.createQuerySet({ type: 'timestamp', count: 2 * passes });
  const resolve = d.createBuffer({ size: 16 * passes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const readback = d.createBuffer({ size: 16 * passes, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const encoder = d.createCommandEncoder();
    for (let i = 0; i < passes; i++) {
      const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(...workgroups);
      pass.end();
    }
    encoder.resolveQuerySet(querySet, 0, 2 * passes, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, readback, 0, 16 * passes);
    d.queue.submit([encoder.finish()]);
    const ms = pause(times);
    if (ms > 0) await new Promise((done) => setTimeout(done, ms));
    await readback.mapAsync(GPUMapMode.READ);
    const ticks = new BigInt64Array(readback.getMappedRange().slice(0));
    readback.unmap();
    if (r > 0) for (let i = 0; i < passes; i++) times.push(Number(ticks[2 * i + 1] - ticks[2 * i]) / 1e6);
  }
  for (const x of [resolve, readback, querySet]) x.destroy();
  return times;
}

/** Median GFLOP/s of the calibration matmul, timed with a timestamp pair like every other pass, with the JS thread asleep. */
async function calibrate(gpu, size = 1024) {
  const d = gpu.device;
  const storage = (data) => {
    const b = d.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    d.queue.writeBuffer(b, 0, data);
    return b;
  };
  const values = () => Float32Array.from({ length: size * size }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const a = storage(values());
  const b = storage(values());
  const c = d.createBuffer({ size: size * size * 4, usage: GPUBufferUsage.STORAGE });
  const params = d.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  d.queue.writeBuffer(params, 0, new Uint32Array([size, size, size, 0]));
  const code = readFileSync(new URL('./matmul-calibration.wgsl', import.meta.url), 'utf8');
  // The JS thread sleeps through the run (as the library does for long runs): a pending mapAsync
  // polls and takes one of the adapter's cores, which halves the matmul on lavapipe.
  const times = await passTimes(gpu, code, [a, b, c, params], [size / 64, size / 16], { passes: 1, rounds: runs + 1, pause: (done) => (done.length ? 2 * Math.min(...done) : 1000) });
  for (const x of [a, b, c, params]) x.destroy();
  return (2 * size ** 3) / median(times) / 1e6;
}

/**
 * Median time of a kernel that does almost nothing (one workgroup adding 1 to 64 floats) in a
 * timestamped pass of its own, as the profiled runs time every layer: the adapter's fixed cost
 * per profiled dispatch, which no kernel of ours goes below.
 */
async function passFloor(gpu) {
  const code = '@group(0) @binding(0) var<storage, read_write> x: array<f32>;\n@compute @workgroup_size(64) fn main(@builtin(local_invocation_index) i: u32) { x[i] += 1.0; }';
  const x = gpu.device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
  const times = await passTimes(gpu, code, [x], [1], { passes: 64, rounds: 3, pause: () => 0 });
  x.destroy();
  return median(times);
}

/**
 * FLOPs of each conv/dense/depthwise layer's forward pass for a batch (its transposed pass does as
 * many), counted as a direct convolution: a Winograd layer's rate is the direct rate it equals.
 */
function layerFlops(graph, batch) {
  const flops = new Map();
  for (const node of graph.nodes) {
    if (node.op === 'conv2d') flops.set(node.kerasName, (2 * batch * product(node.shape) * node.kernel.length) / node.outChannels);
    if (node.op === 'depthwise') flops.set(node.kerasName, (2 * batch * product(node.shape) * node.kernel.length) / (node.inChannels * node.multiplier));
  }
  return flops;
}

/** Bytes of the weights and of every node's output for a batch (the relevance pass keeps them all). */
function modelBytes(graph, batch) {
  let weights = 0;
  let activations = 0;
  for (const node of graph.nodes) {
    weights += 4 * ((node.kernel?.length ?? 0) + (node.bias?.length ?? 0));
    activations += 4 * batch * product(node.shape);
  }
  return { weights, activations };
}

const gpu = await acquireGpu();
const calibration = await calibrate(gpu);
console.log(`adapter: ${gpu.adapter}; calibration matmul 1024^3: ${calibration.toFixed(2)} GFLOP/s`);
const rows = [];
for (const { name, file } of models) {
  await readFile(file); // warm the page cache, so both timings below see the same disk
  const r0 = performance.now();
  await readFile(file);
  const readMs = performance.now() - r0;
  // Model.load in its two halves: reading and parsing the file, then building the graph and
  // uploading the weights (until the queue has them).
  const t0 = performance.now();
  const keras = await readKerasModel(file);
  const t1 = performance.now();
  const model = await Model.fromKeras(keras, { gpu });
  await gpu.device.queue.onSubmittedWorkDone();
  const loadMs = performance.now() - t0;
  const uploadMs = performance.now() - t1;
  const per = product(model.info.inputShape);
  for (const batch of batches) {
    const x = Float32Array.from({ length: batch * per }, (_, i) => ((i * 7919) % 1000) / 1000);
    const row = { model: name, batch, read_ms: readMs, load_ms: loadMs, upload_ms: uploadMs };
    const bytes = modelBytes(model.graph, batch);
    row.weights_bytes = bytes.weights;
    row.activation_bytes = bytes.activations;
    for (const method of ['rlrp', 'epsilon-plus-flat']) {
      await model.explain(x, { method }); // warm-up: compiles the plan
      const wall = [];
      const cpu = [];
      const forward = [];
      const relevance = [];
      for (let r = 0; r < runs || (r < 25 && wall.reduce((a, b) => a + b, 0) < 1000); r++) {
        const c0 = mainThreadCpuMs();
        const s = performance.now();
        const result = await model.explain(x, { method });
        wall.push(performance.now() - s);
        cpu.push(mainThreadCpuMs() - c0);
        if (result.timings) { forward.push(result.timings.forwardMs); relevance.push(result.timings.relevanceMs); }
      }
      row[`${method}_wall_ms`] = median(wall);
      row[`${method}_js_cpu_share`] = median(cpu.map((c, i) => c / wall[i]));
      if (forward.length) { row[`${method}_forward_ms`] = median(forward); row[`${method}_relevance_ms`] = median(relevance); }
      if (typeof model.gpuMemory === 'function') row[`${method}_gpu_bytes`] = model.gpuMemory().bytes;
    }
    row.forward_ms = row.rlrp_forward_ms;
    row.relevance_over_forward = row.rlrp_relevance_ms / row.rlrp_forward_ms;
    // Profiled R-LRP runs: a timestamp pair per dispatch gives each layer's GFLOP/s.
    // The calibration right before the profiled runs that the per-layer GFLOP/s come from.
    const rowCalibration = await calibrate(gpu);
    row.calibration_gflops = rowCalibration;
    row.pass_floor_ms = await passFloor(gpu);
    // Each pass's median over several profiled runs, as for the timings above: a single run's
    // small passes take a shared host's hiccups whole.
    const profiles = [];
    for (let r = 0; r < runs || (r < 25 && profiles.reduce((a, p) => a + p.timings.forwardMs + p.timings.relevanceMs, 0) < 1000); r++) {
      const result = await model.explain(x, { method: 'rlrp', profile: true });
      if (!result.timings?.passes) break;
      profiles.push(result);
    }
    const profiled = profiles.length ? { timings: { passes: Object.fromEntries(Object.keys(profiles[0].timings.passes).map((label) => [label, median(profiles.map((p) => p.timings.passes[label]))])) } } : undefined;
    if (profiled) {
      const flops = layerFlops(model.graph, batch);
      const layers = [];
      // A layer's time is its kernel's, or its Winograd passes' together (labelled '<name> winograd ...').
      const layerMs = (label) => Object.entries(profiled.timings.passes).reduce((a, [l, ms]) => (l === label || l.startsWith(`${label} winograd `) ? (a ?? 0) + ms : a), undefined);
      for (const [layer, f] of flops) {
        const fwd = layerMs(`forward:${layer}`);
        const rel = layerMs(`relevance:${layer} relevance`);
        layers.push({ layer, gflop: f / 1e9, forward_ms: fwd, forward_gflops: fwd && f / fwd / 1e6, relevance_ms: rel, relevance_gflops: rel && f / rel / 1e6 });
      }
      const total = (key) => layers.reduce((a, l) => a + (l[key] ?? 0), 0);
      const totalFlops = [...flops.values()].reduce((a, b) => a + b, 0);
      row.layers = layers;
      // Where the relevance pass spends its time: per kind of pass (the label's words after the layer name).
      const kinds = {};
      for (const [label, ms] of Object.entries(profiled.timings.passes)) {
        if (!label.startsWith('relevance:')) continue;
        const kind = label.slice('relevance:'.length).split(' ').slice(1).join(' ') || 'seed';
        kinds[kind] = (kinds[kind] ?? 0) + ms;
      }
      row.relevance_passes_ms = kinds;
      row.conv_forward_gflops = totalFlops / total('forward_ms') / 1e6;
      row.conv_relevance_gflops = totalFlops / total('relevance_ms') / 1e6;
      row.conv_forward_efficiency = row.conv_forward_gflops / rowCalibration;
      row.conv_relevance_efficiency = row.conv_relevance_gflops / rowCalibration;
      // The most these layers could reach if each took only the pass floor: below 1 where the
      // adapter's fixed cost per dispatch, not our kernels, bounds the efficiency.
      row.floor_bound_efficiency = totalFlops / (layers.length * row.pass_floor_ms) / 1e6 / rowCalibration;
    }
    if (values.f16 && batch === 1 && gpu.hasF16) {
      const half = await Model.load(file, { gpu, weightPrecision: 'f16' });
      const reference = await model.explain(x, { method: 'rlrp' });
      await half.explain(x, { method: 'rlrp', target: reference.targets });
      const forward = [];
      const relevance = [];
      let result;
      for (let r = 0; r < runs; r++) {
        result = await half.explain(x, { method: 'rlrp', target: reference.targets });
        forward.push(result.timings?.forwardMs);
        relevance.push(result.timings?.relevanceMs);
      }
      Object.assign(row, { f16_forward_ms: median(forward), f16_rlrp_relevance_ms: median(relevance), f16_logits_rel_l2: relL2(result.logits, reference.logits), f16_relevance_rel_l2: relL2(result.relevance, reference.relevance) });
      half.destroy();
    }
    rows.push(row);
    console.log(JSON.stringify({ ...row, layers: undefined }));
  }
  model.destroy();
}

const columns = [
  ['model', 'model'], ['batch', 'batch'], ['calibration_gflops', 'calib GFLOP/s'], ['load_ms', 'load ms'], ['read_ms', 'read ms'], ['upload_ms', 'upload ms'], ['forward_ms', 'forward ms'], ['rlrp_relevance_ms', 'R-LRP rel ms'],
  ['relevance_over_forward', 'rel/fwd'], ['epsilon-plus-flat_relevance_ms', 'EPF rel ms'], ['rlrp_wall_ms', 'R-LRP wall ms'], ['epsilon-plus-flat_wall_ms', 'EPF wall ms'],
  ['rlrp_js_cpu_share', 'JS CPU/wall'], ['conv_forward_gflops', 'conv fwd GFLOP/s'], ['conv_relevance_gflops', 'conv rel GFLOP/s'], ['conv_forward_efficiency', 'fwd eff'], ['conv_relevance_efficiency', 'rel eff'], ['pass_floor_ms', 'pass floor ms'], ['floor_bound_efficiency', 'floor-bound eff'], ['rlrp_gpu_bytes', 'GPU MiB'], ['f16_forward_ms', 'f16 fwd ms'], ['f16_relevance_rel_l2', 'f16 rel err'],
];
const format = (key, v) => (typeof v !== 'number' ? v ?? '-' : key.endsWith('bytes') ? (v / 2 ** 20).toFixed(0) : Number.isInteger(v) ? v : v < 0.01 ? v.toExponential(1) : v < 10 ? v.toFixed(2) : v.toFixed(0));
console.log(`\nadapter: ${gpu.adapter}; calibration matmul ${calibration.toFixed(2)} GFLOP/s at the start (each row: its own); medians of ${runs} runs after a warm-up\n`);
console.log(columns.map(([, title]) => title).join('\t'));
for (const row of rows) console.log(columns.map(([key]) => format(key, row[key])).join('\t'));
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, JSON.stringify({ adapter: gpu.adapter, calibration_gflops: calibration, runs, date: new Date().toISOString(), rows }, null, 2));
console.log(`\nwrote ${values.out}`);
process.exit(0);
