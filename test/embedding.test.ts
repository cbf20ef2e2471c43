import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireGpu, type Gpu } from '../src/gpu/device.js';
import { heatmap } from '../src/image/heatmap.js';
import { readTexture } from '../src/image/render.js';
import { parseNpy } from '../src/io/npy.js';
import { Model } from '../src/model.js';
import { ROOT } from './helpers/chromium.js';
import { relativeL2 } from './helpers/compare.js';

// The embedding API: models on a caller's GPUDevice (two devices, two models per device, used
// in parallel) reproduce Keras's logits and one another's relevance, never destroy the device,
// and hand over relevance as a GPUBuffer and the heatmap as a GPUTexture that match the CPU
// heatmap. Then the built package: importable by name in Node, its "." entry free of static
// Node built-ins (what Vite needs), with a .d.ts per export.

const reference = JSON.parse(readFileSync(join(ROOT, 'weights/fashion_reference.json'), 'utf8')) as { models: Record<string, { sample_logits: number[] }> };
const sample = parseNpy(readFileSync(join(ROOT, 'weights/fashion_sample.npy'))).data;
const bytes = (name: string) => new Uint8Array(readFileSync(join(ROOT, 'weights', name)));

async function readBuffer(gpu: Gpu, buffer: GPUBuffer, floats: number): Promise<Float32Array> {
  const staging = gpu.device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = gpu.device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, floats * 4);
  gpu.device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const values = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return values;
}

/** Whether the device still works: a buffer round trip with no validation error. */
async function deviceWorks(gpu: Gpu): Promise<boolean> {
  gpu.device.pushErrorScope('validation');
  const buffer = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  gpu.device.queue.writeBuffer(buffer, 0, Float32Array.of(1, 2, 3, 4));
  const back = await readBuffer(gpu, buffer, 4);
  buffer.destroy();
  const error = await gpu.device.popErrorScope();
  return !error && back.join() === '1,2,3,4';
}

describe('embedding: a caller\'s GPUDevice, relevance as a GPUBuffer, the heatmap as a GPUTexture', () => {
  let a: Gpu;
  let b: Gpu;
  const lost: string[] = [];

  beforeAll(async () => {
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    // Two devices of the app's own; the library sees only the GPUDevice objects.
    [a, b] = [await acquireGpu(), await acquireGpu()];
    for (const g of [a, b]) void g.device.lost.then((info) => lost.push(info.message));
  });

  afterAll(() => {
    a?.device.destroy();
    b?.device.destroy();
  });

  it('two models on each of two devices, run in parallel, give Keras\'s logits and identical relevance; the devices survive the models', async () => {
    expect(a.device).not.toBe(b.device);
    const [cnnA, resnetA, cnnB, resnetB] = await Promise.all([
      Model.load(bytes('fashion_cnn.h5'), { device: a.device }), Model.load(bytes('fashion_resnet.h5'), { device: a.device }),
      Model.load(bytes('fashion_cnn.h5'), { device: b.device }), Model.load(bytes('fashion_resnet.h5'), { device: b.device }),
    ]);
    const results = await Promise.all([cnnA, resnetA, cnnB, resnetB].map((m) => m.explain(sample, { method: 'rlrp' })));
    const [rCnnA, rResnetA, rCnnB, rResnetB] = results;
    // Keras's logits for this sample: 1e-4 of the logit range, as elsewhere for these models.
    for (const [result, name] of [[rCnnA, 'fashion_cnn'], [rCnnB, 'fashion_cnn'], [rResnetA, 'fashion_resnet'], [rResnetB, 'fashion_resnet']] as const) {
      const expected = reference.models[name].sample_logits;
      const range = Math.max(...expected) - Math.min(...expected);
      expect(Math.max(...expected.map((v, i) => Math.abs(result.logits[i] - v)))).toBeLessThanOrEqual(1e-4 * range);
    }
    // The same model on either device gives the same relevance; the two models differ.
    expect(relativeL2(rCnnB.relevance, rCnnA.relevance)).toBeLessThanOrEqual(1e-6);
    expect(relativeL2(rResnetB.relevance, rResnetA.relevance)).toBeLessThanOrEqual(1e-6);
    expect(relativeL2(rResnetA.relevance, rCnnA.relevance)).toBeGreaterThan(0.1);

    // Destroying the models on device A leaves A usable and the models on B unaffected.
    cnnA.destroy();
    resnetA.destroy();
    expect(await deviceWorks(a)).toBe(true);
    const again = await cnnB.explain(sample, { method: 'rlrp' });
    expect(relativeL2(again.relevance, rCnnA.relevance)).toBeLessThanOrEqual(1e-6);
    cnnB.destroy();
    resnetB.destroy();
    expect(await deviceWorks(b)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lost).toEqual([]);
  });

  it('explainToTexture: an rgba8unorm texture matching the CPU heatmap of the returned relevance buffer, both outliving the model', async () => {
    const model = await Model.load(bytes('fashion_cnn.h5'), { device: a.device });
    const expected = await model.explain(sample, { method: 'rlrp' });
    const result = await model.explainToTexture(sample, { method: 'rlrp' }, { colormap: 'bwr', scale: 'max' });
    const { texture, relevance } = result;
    model.destroy();
    try {
      expect([texture.format, texture.width, texture.height]).toEqual(['rgba8unorm', 28, 28]);
      expect(texture.usage & (GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_SRC)).toBe(GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_SRC);
      expect(result.shape).toEqual([1, 28, 28, 1]);
      expect(result.targets).toEqual(expected.targets);
      const values = await readBuffer(a, relevance, 28 * 28);
      expect(relativeL2(values, expected.relevance)).toBeLessThanOrEqual(1e-6);
      // The GPU pass in float32 against the float64 CPU reference: a value on a colour-map
      // boundary may round to the neighbouring entry (at most 2 levels in bwr).
      const cpu = heatmap(values, { shape: result.shape });
      const gpu = await readTexture(a, texture);
      expect(Math.max(...gpu.data.map((v, i) => Math.abs(v - cpu.data[i])))).toBeLessThanOrEqual(2);
    } finally {
      texture.destroy();
      relevance.destroy();
    }
    expect(await deviceWorks(a)).toBe(true);
  });

  it('explainToTexture at a Dense layer draws its relevance as one row', async () => {
    const model = await Model.load(bytes('fashion_cnn.h5'), { device: b.device });
    try {
      const dense = [...model.graph.layerOutputs.keys()].find((name) => model.graph.nodes[model.graph.layerOutputs.get(name)!].shape.length === 1 && name !== [...model.graph.layerOutputs.keys()].at(-1))!;
      expect(dense).toBeDefined();
      const { texture, relevance, shape } = await model.explainToTexture(sample, { layer: dense });
      const expected = await model.explain(sample, { layer: dense });
      expect([texture.width, texture.height]).toEqual([shape[1], 1]);
      const cpu = heatmap(expected.relevance, { shape: [1, 1, shape[1], 1] });
      const gpu = await readTexture(b, texture);
      expect(Math.max(...gpu.data.map((v, i) => Math.abs(v - cpu.data[i])))).toBeLessThanOrEqual(2);
      texture.destroy();
      relevance.destroy();
    } finally {
      model.destroy();
    }
  });
});

describe('the built package (dist/, as npm run build writes it)', () => {
  const built = existsSync(join(ROOT, 'dist/index.js'));
  if (!built) throw new Error('dist/ is missing: run npm run build before this test');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; sideEffects: boolean; exports: Record<string, { types: string; import: string }> };

  it('imports by name in Node (the exports map), with a .d.ts per entry', () => {
    const script = `
      const main = await import('${pkg.name}');
      const node = await import('${pkg.name}/node');
      const zoo = await import('${pkg.name}/zoo');
      console.log(JSON.stringify({
        explainToTexture: typeof main.Model.prototype.explainToTexture, renderHeatmap: typeof main.renderHeatmap,
        methods: main.METHODS.length, decodeImage: typeof node.decodeImage, zoo: Object.keys(zoo).length,
      }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' })) as Record<string, unknown>;
    expect(out).toMatchObject({ explainToTexture: 'function', renderHeatmap: 'function', decodeImage: 'function' });
    expect(out.methods).toBeGreaterThan(10);
    expect(out.zoo).toBeGreaterThan(0);
    for (const entry of Object.values(pkg.exports)) {
      expect(existsSync(join(ROOT, entry.import))).toBe(true);
      expect(existsSync(join(ROOT, entry.types))).toBe(true);
    }
    expect(readFileSync(join(ROOT, 'dist/model.d.ts'), 'utf8')).toContain('explainToTexture(');
  });

  it('its "." entry has no static import of a Node built-in or Dawn (a browser bundler such as Vite needs none), and is tree-shakeable', async () => {
    expect(pkg.sideEffects).toBe(false);
    const bundle = (entry: string) => build({
      stdin: { contents: entry, resolveDir: ROOT, loader: 'js' }, bundle: true, write: false, format: 'esm', platform: 'browser',
      metafile: true, external: ['node:*', 'webgpu'], logLevel: 'silent',
    });
    const all = await bundle(`export * from '${pkg.name}';`);
    const imports = Object.values(all.metafile.outputs).flatMap((o) => o.imports);
    const statics = imports.filter((i) => i.kind === 'import-statement' || i.kind === 'require-call');
    expect(statics.map((i) => i.path)).toEqual([]);
    // Dawn and node:fs are reached only through dynamic imports, which Node alone takes.
    expect(imports.every((i) => i.kind === 'dynamic-import')).toBe(true);
    // One small export pulls in neither the engine nor h5wasm.
    const small = await bundle(`export { formatNpy } from '${pkg.name}';`);
    expect(small.outputFiles[0].text.length).toBeLessThan(20_000);
    expect(all.outputFiles[0].text.length).toBeGreaterThan(1_000_000);
  });
});
