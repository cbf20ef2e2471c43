import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { conservationErrors } from '../src/eval/conservation.js';
import { evaluate } from '../src/eval/evaluate.js';
import { aopc, blur, curveAuc, curveImages, PatchGrid, replacementImage, stepCounts } from '../src/eval/perturbation.js';
import { explanationSimilarity, layersTopDown, withRandomizedLayers } from '../src/eval/randomization.js';
import { countNonFinite, lipschitzEstimate, maxSensitivity, noisyCopies } from '../src/eval/robustness.js';
import { seededRandom, spearman, ssim, summarize, trapezoid } from '../src/eval/statistics.js';
import { formatNpy, parseNpy } from '../src/io/npy.js';
import { readKerasModel } from '../src/keras/load.js';
import { Model } from '../src/model.js';
import { syntheticOnGpu, testGpu } from './helpers/gpu.js';
import { randomArray } from './helpers/synthetic.js';

// The evaluation metrics: the pure functions against hand-computed values, then on the GPU with
// models whose perfect explanation is known, then the CLI and its reports end to end.

describe('metric functions (hand-computed)', () => {
  it('patch grid: scores, most-relevant-first order, cut-off edge patches', () => {
    // 3x3x1 with 2x2 patches: patches 0 (rows 0-1, cols 0-1), 1 (rows 0-1, col 2), 2 (row 2, cols 0-1), 3 (pixel 8).
    const grid = new PatchGrid({ height: 3, width: 3, channels: 1 }, 2);
    const r = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    expect(grid.count).toBe(4);
    expect(Array.from(grid.scores(r))).toEqual([1 + 2 + 4 + 5, 3 + 6, 7 + 8, 9]);
    expect(grid.mostRelevantFirst(r)).toEqual([2, 0, 1, 3]); // 15, 12, then the tie 9 = 9 by position
    // Channels are summed; a NaN patch ranks last.
    const rgb = new PatchGrid({ height: 1, width: 3, channels: 2 }, 1);
    expect(rgb.mostRelevantFirst([1, -5, 0, 0.5, NaN, 9])).toEqual([1, 0, 2]);
    expect(() => new PatchGrid({ height: 3, width: 3, channels: 1 }, 0)).toThrow(/patch size/);
  });

  it('step counts, curve images (deletion and insertion), AOPC and AUC', () => {
    expect(stepCounts(4, 2)).toEqual([0, 2, 4]);
    expect(stepCounts(5, 4)).toEqual([0, 1, 3, 4, 5]); // round(1.25), round(2.5), round(3.75)
    const grid = new PatchGrid({ height: 2, width: 2, channels: 1 }, 1);
    const x = [1, 2, 3, 4];
    const fill = [0, 0, 0, 0];
    expect(Array.from(curveImages(x, fill, grid, [3, 0, 1, 2], [0, 2, 4]))).toEqual([1, 2, 3, 4, 0, 2, 3, 0, 0, 0, 0, 0]);
    expect(Array.from(curveImages(fill, x, grid, [3, 0, 1, 2], [0, 1, 4]))).toEqual([0, 0, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
    // AOPC = ((1-1) + (1-0.5) + (1-0.25)) / 3; AUC over fractions [0, 0.5, 1] by trapezoids.
    expect(aopc([1, 0.5, 0.25])).toBeCloseTo(1.25 / 3, 12);
    expect(curveAuc([0, 2, 4], [1, 0.5, 0.25])).toBeCloseTo(0.5 * 0.75 + 0.5 * 0.375, 12);
    expect(trapezoid([0, 1, 3], [2, 2, 0])).toBe(4);
  });

  it('replacement images: zero, per-channel mean, blur, uniform noise in the range', () => {
    const image = { height: 2, width: 2, channels: 2 };
    const x = [0, 10, 2, 10, 4, 20, 6, 20];
    expect(Array.from(replacementImage(x, image, 'zero', seededRandom(1)))).toEqual(new Array(8).fill(0));
    expect(Array.from(replacementImage(x, image, 'mean', seededRandom(1)))).toEqual([3, 15, 3, 15, 3, 15, 3, 15]);
    const noise = replacementImage(x, image, 'uniform', seededRandom(1));
    expect(Math.min(...noise)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...noise)).toBeLessThanOrEqual(20);
    expect(Array.from(blur(new Float32Array(27).fill(0.5), { height: 3, width: 3, channels: 3 }, 1)).every((v) => Math.abs(v - 0.5) < 1e-6)).toBe(true);
    // A blurred step edge keeps its total (symmetric kernel away from clamped edges) and becomes smooth.
    const edge = Float32Array.from({ length: 16 }, (_, i) => (i < 8 ? 0 : 1));
    const b = blur(edge, { height: 16, width: 1, channels: 1 }, 1);
    expect(b[7]).toBeGreaterThan(0.2);
    expect(b[8]).toBeLessThan(0.8);
    expect(() => replacementImage(x, image, 'gray' as 'zero', seededRandom(1))).toThrow(/unknown replacement 'gray'/);
  });

  it('summary with a Student t interval; Spearman with ties; SSIM', () => {
    const s = summarize([1, 2, 3, NaN])!;
    expect(s.mean).toBe(2);
    expect(s.n).toBe(3);
    expect(s.ci95[1] - 2).toBeCloseTo(4.303 / Math.sqrt(3), 10); // sd 1, t(2 df) = 4.303
    expect(summarize([NaN])).toBeNull();
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // ranks [1, 2.5, 2.5, 4] and [1, 3, 2, 4]: 4.5 / sqrt(4.5 * 5)
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(4.5 / Math.sqrt(22.5), 12);
    expect(ssim([0, 1, 0, 1], [0, 1, 0, 1], 2, 2)).toBeCloseTo(1, 12);
    // One 2x2 window: means 0.5, variances 1/3, covariance -1/3; c1 = 1e-4, c2 = 9e-4.
    expect(ssim([0, 1, 0, 1], [1, 0, 1, 0], 2, 2)).toBeCloseTo((-2 / 3 + 9e-4) / (2 / 3 + 9e-4), 10);
  });

  it('max-sensitivity, Lipschitz estimate, non-finite count, noisy copies', () => {
    expect(maxSensitivity([3, 4], [[3, 4], [0, 4]])).toBeCloseTo(3 / 5, 12);
    // Unit maps [1,0] and [0,1] are sqrt(2) apart; the inputs 0.5 apart.
    expect(lipschitzEstimate([1, 0], [[0, 2]], [0, 0], [[0.5, 0]])).toBeCloseTo(2 * Math.SQRT2, 12);
    expect(countNonFinite([1, NaN, Infinity, -Infinity, 0])).toBe(3);
    const copies = noisyCopies([0, 0, 0], [0.1, 1], 2, seededRandom(3));
    expect(copies.length).toBe(12);
    expect(Math.max(...copies.subarray(0, 6).map(Math.abs))).toBeLessThanOrEqual(0.1);
    expect(Math.max(...copies.subarray(6).map(Math.abs))).toBeGreaterThan(0.1);
  });

  it('conservation errors relative to the output layer, signed sum and L1', () => {
    const layers = [
      { name: 'input', l1: [2, 1], sum: [0.5, 1] },
      { name: 'dense', l1: [1, 1], sum: [1, -1] },
    ];
    expect(conservationErrors(layers, 'dense')).toEqual([
      { name: 'input', sum: [0.5, 2], l1: [1, 0] },
      { name: 'dense', sum: [0, 0], l1: [0, 0] },
    ]);
  });
});

/** Input 4x4x1 -> Flatten -> Dense(3, linear, no bias): logit c = w_c . x, so w_c * x is the exact explanation. */
const linearModel = (m: import('./helpers/synthetic.js').SyntheticModel) =>
  m.layer('Dense', { units: 3, use_bias: false, activation: 'linear' }, [m.layer('Flatten', {}, [m.input([4, 4, 1])])], { kernel: [16, 3] }, 1);

describe('metrics on the GPU', () => {
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));

  it('a linear model: exact contributions (gradient x input) give the analytic curves and beat random by a wide margin', async () => {
    const { model, random } = await syntheticOnGpu(81, linearModel);
    models.push(model);
    const samples = 8;
    const x = randomArray(random, samples * 16, 0.5, 0.5); // in [0, 1]
    const labels = Array.from({ length: samples }, (_, i) => i % 3);
    const { report } = await evaluate(model, x, {
      methods: ['gradient-x-input', 'random'], labels, metrics: ['perturbation'], patch: 1, steps: 16, replacement: 'zero', score: 'logit', seed: 5, examples: 0,
    });
    // Independent float64 reference: removing pixel i to zero takes w_ci * x_i off the logit.
    const w = model.keras.weights.get(model.keras.config.layers[2].name)!.get('kernel')!.data.values();
    for (let n = 0; n < samples; n++) {
      const c = labels[n];
      const contributions = Array.from({ length: 16 }, (_, i) => w[i * 3 + c] * x[n * 16 + i]);
      const logit = contributions.reduce((a, b) => a + b, 0);
      const sorted = [...contributions].sort((a, b) => b - a);
      const curve = (order: number[]) => Array.from({ length: 17 }, (_, k) => logit - order.slice(0, k).reduce((a, b) => a + b, 0));
      const morf = curve(sorted);
      const lerf = curve([...sorted].reverse());
      report.curves['gradient-x-input'].per_sample.morf[n].forEach((v, k) => expect(Math.abs(v - morf[k])).toBeLessThan(1e-4));
      report.curves['gradient-x-input'].per_sample.lerf[n].forEach((v, k) => expect(Math.abs(v - lerf[k])).toBeLessThan(1e-4));
      // Any order's curve lies between the exact MoRF (pointwise lowest) and LeRF (highest) curves.
      report.curves.random.per_sample.morf[n].forEach((v, k) => {
        expect(v).toBeGreaterThanOrEqual(morf[k] - 1e-4);
        expect(v).toBeLessThanOrEqual(lerf[k] + 1e-4);
      });
      expect(report.per_sample['gradient-x-input'].aopc_morf[n]).toBeCloseTo(aopc(morf), 4);
    }
    const perfect = report.methods['gradient-x-input'];
    const baseline = report.methods.random;
    expect(perfect.aopc_morf! - baseline.aopc_morf!).toBeGreaterThan(0.5 * Math.abs(perfect.aopc_morf!));
    expect(perfect.abpc!).toBeGreaterThan(2 * Math.abs(baseline.abpc!));
    expect(report.summary['gradient-x-input'].aopc_morf!.ci95[0]).toBeGreaterThan(report.summary.random.aopc_morf!.ci95[1]);
  });

  it('LRP-0 conserves relevance at every layer of a bias-free ReLU net; the random baseline has no conservation', async () => {
    const { model, random } = await syntheticOnGpu(82, (m) => {
      const c = m.layer('Conv2D', { filters: 4, kernel_size: [3, 3], padding: 'same', activation: 'relu', use_bias: false }, [m.input([6, 6, 2])], { kernel: [3, 3, 2, 4] });
      const d = m.layer('Dense', { units: 8, use_bias: false, activation: 'relu' }, [m.layer('Flatten', {}, [c])], { kernel: [144, 8] });
      return m.layer('Dense', { units: 3, use_bias: false, activation: 'linear' }, [d], { kernel: [8, 3] });
    });
    models.push(model);
    const x = randomArray(random, 4 * 72, 0.5, 0.5);
    const { report } = await evaluate(model, x, { methods: ['lrp0', 'gradient', 'random'], metrics: ['conservation'], examples: 0 });
    report.per_sample.lrp0.conservation_error.forEach((e) => expect(e!).toBeLessThan(1e-4));
    report.layers.lrp0.forEach((l) => expect(l.conservation_error!).toBeLessThan(1e-4));
    expect(report.methods.gradient.conservation_error!).toBeGreaterThan(1e-2); // the gradient does not conserve: the check can fail
    expect(report.methods.random.conservation_error).toBeUndefined();
    expect(report.methods.random.non_finite).toBe(0);
  });

  it('cascading randomisation: weights replaced top down only where asked, and the explanation drifts from the trained one', async () => {
    const keras = await readKerasModel('weights/fashion_cnn.h5');
    expect(layersTopDown(keras)).toEqual(['predictions', 'fc1', 'conv2', 'conv1']);
    const randomized = withRandomizedLayers(keras, ['predictions', 'fc1'], 3);
    expect(randomized.weights.get('conv1')).toBe(keras.weights.get('conv1'));
    const before = keras.weights.get('fc1')!.get('kernel')!;
    const after = randomized.weights.get('fc1')!.get('kernel')!;
    expect(after.shape).toEqual(before.shape);
    expect(after.data.values()).not.toEqual(before.data.values());
    const sd = (d: Float32Array) => Math.sqrt(d.reduce((a, v) => a + v * v, 0) / d.length - (d.reduce((a, v) => a + v, 0) / d.length) ** 2);
    expect(sd(after.data.values()) / sd(before.data.values())).toBeCloseTo(1, 1);

    const model = await Model.fromKeras(keras, { gpu: await testGpu() });
    models.push(model);
    const x = parseNpy(readFileSync('weights/fashion_test64.npy')).data.slice(0, 2 * 784);
    const { report } = await evaluate(model, x, { methods: ['gradient', 'random'], labels: [9, 2], metrics: ['randomization'], randomizationSamples: 2, examples: 0 });
    const similarity = report.randomization!.methods;
    expect(report.randomization!.layers).toHaveLength(4);
    expect(similarity.gradient.spearman[3]!).toBeLessThan(0.6);
    expect(similarity.random.spearman.every((v) => v === 1)).toBe(true); // input- and model-independent noise fails the check by construction
    const same = explanationSimilarity([1, -2, 3, 4], [1, -2, 3, 4], { height: 2, width: 2, channels: 1 });
    expect(same.spearman).toBeCloseTo(1, 12);
    expect(same.ssim).toBeCloseTo(1, 12);
  });

  it('bad options fail before any GPU work with a message naming the problem', async () => {
    const { model, random } = await syntheticOnGpu(83, linearModel);
    models.push(model);
    const x = randomArray(random, 32);
    await expect(evaluate(model, x, { methods: ['nope' as 'random'] })).rejects.toThrow(/unknown method 'nope'/);
    await expect(evaluate(model, x, { methods: ['rlrp'], labels: [0] })).rejects.toThrow(/1 labels for 2 samples/);
    await expect(evaluate(model, x, { methods: ['rlrp'], labels: [0, 3] })).rejects.toThrow(/label 3 of sample 1 is not a class index/);
    await expect(evaluate(model, x, { methods: ['rlrp'], radii: [-1] })).rejects.toThrow(/radii must be positive/);
    await expect(evaluate(model, x, { methods: ['zbox'] })).rejects.toThrow(/needs the input bounds/);
    await expect(evaluate(model, x, { methods: ['rlrp'], patch: 9 })).rejects.toThrow(/patch size/);
  });
});

describe('rlrp evaluate (CLI) and its reports', () => {
  const cli = resolve('dist/cli/main.js');
  const run = async (args: string[]) => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, 'evaluate', ...args], { env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };
  const dir = mkdtempSync(join(tmpdir(), 'rlrp-eval-'));

  it('on the bundled CNN: report.json with the specified keys, report.html whose links all resolve', async () => {
    const out = join(dir, 'report');
    const { code, stdout, stderr } = await run(['--model', 'weights/fashion_cnn.h5', '--data', 'weights/fashion_test64.npy', '--labels', 'weights/fashion_test64.labels.json',
      '--samples', '3', '--steps', '8', '--radii', '0.01,0.05', '--draws', '2', '--randomization-samples', '2', '--examples', '2', '--out', out]);
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/samples\/s, .*(s left|estimating)/);
    expect(stdout).toMatch(/wrote .*report\.json and .*report\.html \(3 samples/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const methods = ['rlrp', 'rlrp-plus', 'epsilon', 'zplus', 'epsilon-plus-flat', 'gradient-x-input', 'random'];
    expect(Object.keys(report.methods)).toEqual(methods);
    for (const m of methods) {
      for (const key of ['aopc_morf', 'aopc_lerf', 'abpc', 'deletion_auc', 'insertion_auc', 'max_sensitivity@0.01', 'lipschitz@0.05', 'non_finite', 'randomization_spearman', 'randomization_ssim']) {
        expect(typeof report.methods[m][key], `${m} ${key}`).toBe('number');
        expect(report.per_sample[m][key].length, `${m} ${key}`).toBe(key.startsWith('randomization') ? 2 : 3);
      }
      expect(report.curves[m].morf).toHaveLength(9);
      expect(report.summary[m].aopc_morf.ci95).toHaveLength(2);
    }
    expect(report.methods.rlrp.conservation_error_l1).toBeLessThan(1e-4); // R-LRP conserves |R|_1 exactly
    expect(report.samples.labels).toEqual([9, 2, 1]);
    expect(report.config).toMatchObject({ samples: 3, steps: 8, patch: 2, replacement: 'mean', radii: [0.01, 0.05], draws: 2 });
    expect(report.command).toMatch(/^rlrp evaluate --model weights\/fashion_cnn\.h5/);

    const html = readFileSync(join(out, 'report.html'), 'utf8');
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    const links = [...html.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(20);
    for (const link of links) expect(ids, `#${link}`).toContain(link);
    for (const id of ['overview', 'curves', 'randomization', 'layers', 'heatmaps', 'metric-aopc_morf', 'plot-morf', 'plot-lerf', 'plot-insertion', 'method-rlrp-plus']) expect(ids).toContain(id);
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g)!;
    expect(svgs.length).toBe(5); // three perturbation plots, two randomisation plots
    for (const svg of svgs) expect(svg.match(/<polyline /g)!.length).toBe(methods.length);
    const images = [...html.matchAll(/src="data:image\/png;base64,([^"]+)"/g)].map((m) => Buffer.from(m[1], 'base64'));
    expect(images.length).toBe(2 * (methods.length + 1)); // two example rows: input + one heatmap per method
    for (const png of images) expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
    expect(html.replace(/data:image\/png;base64,[^"]+/g, '')).not.toMatch(/NaN|undefined/);
  });

  it('the box rules get the data range as their bounds unless --low/--high say otherwise', async () => {
    const out = join(dir, 'box');
    const { code, stderr } = await run(['--model', 'weights/fashion_cnn.h5', '--data', 'weights/fashion_test64.npy', '--samples', '2', '--method', 'zbox,epsilon-gamma-box', '--metrics', 'conservation', '--examples', '0', '--out', out]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.config.method_options).toMatchObject({ low: 0, high: 1 });
    expect(report.samples.labels).toBeNull();
    expect(report.config.target).toBe('predicted class');
    expect(Object.keys(report.methods)).toEqual(['zbox', 'epsilon-gamma-box']);
  });

  it('an image folder (sorted by name, --preprocess unit) scores exactly as the same images as .npy', async () => {
    const images = join(dir, 'images');
    mkdirSync(images, { recursive: true });
    // fashion_sample.png holds fashion_sample.npy's pixels (x 255), so 'unit' gives the array back.
    for (const name of ['b.png', 'a.png']) writeFileSync(join(images, name), readFileSync('weights/images/fashion_sample.png'));
    const sample = readFileSync('weights/fashion_sample.npy');
    const npy = join(dir, 'two.npy');
    const array = parseNpy(sample);
    writeFileSync(npy, formatNpy({ shape: [2, 28, 28, 1], data: Float32Array.from([...array.data, ...array.data]) }));
    const common = ['--model', 'weights/fashion_cnn.h5', '--method', 'rlrp,gradient', '--metrics', 'perturbation,conservation', '--examples', '0', '--steps', '4'];
    const fromFolder = await run([...common, '--data', images, '--preprocess', 'unit', '--out', join(dir, 'folder')]);
    expect(fromFolder.code, fromFolder.stderr).toBe(0);
    const fromNpy = await run([...common, '--data', npy, '--out', join(dir, 'npy')]);
    expect(fromNpy.code, fromNpy.stderr).toBe(0);
    const a = JSON.parse(readFileSync(join(dir, 'folder', 'report.json'), 'utf8'));
    const b = JSON.parse(readFileSync(join(dir, 'npy', 'report.json'), 'utf8'));
    expect(a.samples.count ?? a.config.samples).toBe(2);
    const scores = (report: { methods: Record<string, Record<string, number>> }) => Object.fromEntries(Object.entries(report.methods).map(([m, v]) => [m, { ...v, explain_ms_per_sample: 0 }]));
    expect(scores(a)).toEqual(scores(b)); // all but the wall time
  });

  it('bad input: exit 2 with usage for unknown methods and folders, 1 for data that does not fit the model', async () => {
    const base = ['--model', 'weights/fashion_cnn.h5', '--labels', 'weights/fashion_test64.labels.json', '--out', join(dir, 'bad')];
    const unknown = await run([...base, '--data', 'weights/fashion_test64.npy', '--method', 'rlrp,nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--method: unknown 'nope'/);
    const folder = await run([...base, '--data', 'weights/images']);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toMatch(/is a folder of images: say how the model expects them with --preprocess <caffe\|tf\|torch\|unit\|raw>/);
    mkdirSync(join(dir, 'x'), { recursive: true });
    const wrong = join(dir, 'x', 'wrong.npy');
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 5), }";
    const padded = header.padEnd(118, ' ') + '\n';
    writeFileSync(wrong, Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, padded.length, 0]), Buffer.from(padded, 'latin1'), Buffer.alloc(40)]));
    const shape = await run([...base, '--data', wrong]);
    expect(shape.code).toBe(1);
    expect(shape.stderr).toMatch(/InputShapeError: --data .* has shape \[2, 5\]; the model takes \[batch, 28, 28, 1\]/);
  });
});
