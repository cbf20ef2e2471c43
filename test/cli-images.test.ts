import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImage } from '../src/image/decode.js';
import { FONT } from '../src/image/font.gen.js';
import { composeGrid } from '../src/image/grid.js';
import { heatmap } from '../src/image/heatmap.js';
import { loadPixels, toRgba } from '../src/image/load.js';
import { encodePng } from '../src/image/png.js';
import { modelInput } from '../src/image/preprocess.js';
import type { RgbaImage } from '../src/image/types.js';
import { loadNamedModel } from '../src/zoo/index.js';
import { planOutputs } from '../src/cli/image-batch.js';
import { imageFiles } from '../src/cli/image-files.js';
import { readNpy } from './helpers/fixtures.js';
import { testGpu } from './helpers/gpu.js';
import { ensureMobilenet, serveMobilenetMirror, type Mirror } from './helpers/keras-apps.js';

// The image side of the CLI as users run it: the built dist/cli/main.js as a child process, on
// the bundled model and images (weights/), a folder batch interrupted by a real SIGKILL and
// resumed, MobileNet by name from a loopback mirror, and every bad input with its exit code.
const cli = resolve('dist/cli/main.js');
const weights = (name: string) => resolve('weights', name);
const FASHION = weights('fashion_cnn.h5');
const LABELS = weights('fashion_reference.json');
const reference = JSON.parse(readFileSync(LABELS, 'utf8')) as { class_names: string[]; labels: number[]; models: { fashion_cnn: { logits: number[][]; sample_logits: number[] } } };
const IMAGENET = JSON.parse(readFileSync(weights('imagenet_classes.json'), 'utf8')) as string[];

interface Run { code: number; stdout: string; stderr: string }

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, XDG_RUNTIME_DIR: '/tmp', ...env }, maxBuffer: 1 << 26 }, (error, stdout, stderr) => {
      done({ code: error ? (error as { code: number }).code : 0, stdout, stderr });
    });
  });
}

/** The last line of stdout as JSON (--json prints one line). */
const json = (r: Run) => JSON.parse(r.stdout.trim().split('\n').at(-1)!);

/** The panel at `index` of a one-row grid of `cell` x `cell` panels under titles (composeGrid's layout, gap 4). */
function panel(grid: RgbaImage, index: number, cell: number): RgbaImage {
  const left = 4 + index * (cell + 4);
  const top = 4 + FONT.height + 2;
  const data = new Uint8Array(cell * cell * 4);
  for (let y = 0; y < cell; y++) data.set(grid.data.subarray(((top + y) * grid.width + left) * 4, ((top + y) * grid.width + left + cell) * 4), y * cell * 4);
  return { width: cell, height: cell, data };
}

function maxDifference(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[i]))));
  return worst;
}

const dir = mkdtempSync(join(tmpdir(), 'rlrp-cli-images-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('image arguments', () => {
  it('a file, a folder (its PNG and JPEG files, sorted, hidden ones left out) or a glob with * and ? in any segment; outputs named by relative path', () => {
    const root = join(dir, 'args');
    for (const path of ['a/x1.png', 'a/x2.JPG', 'a/notes.txt', 'a/.hidden.png', 'b/x1.png', 'b/y.jpeg', 'b/deeper/x3.png']) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), '');
    }
    const names = (args: string[]) => imageFiles(args.map((a) => join(root, a))).files.map((f) => f.relative);
    expect(imageFiles([join(root, 'a/x1.png')])).toEqual({ files: [{ path: join(root, 'a/x1.png'), relative: 'x1.png' }], batch: false });
    expect(imageFiles([join(root, 'a')]).batch).toBe(true);
    expect(names(['a'])).toEqual(['x1.png', 'x2.JPG']);
    expect(names(['*/x?.*'])).toEqual(['a/x1.png', 'a/x2.JPG', 'b/x1.png']);
    expect(names(['b/*/*.png'])).toEqual(['deeper/x3.png']);
    expect(names(['a/*'])).toEqual(['notes.txt', 'x1.png', 'x2.JPG']); // a glob takes what it matches; hidden files only when asked
    expect(names(['a/.*'])).toEqual(['.hidden.png']);
    expect(names(['a', 'a/x1.png'])).toEqual(['x1.png', 'x2.JPG']); // no duplicates
    expect(() => names(['c/*.png'])).toThrow(/no files match '.*c\/\*\.png'/);
    expect(() => names(['a/nothing.png'])).toThrow(/a\/nothing\.png: no such image file or folder/);
    const planned = planOutputs(imageFiles([join(root, '*/x?.*')]).files, ['rlrp', 'epsilon']);
    expect(planned.map((p) => [p.grid, p.heatmaps])).toEqual([
      ['a/x1.png', { rlrp: 'a/x1.rlrp.png', epsilon: 'a/x1.epsilon.png' }],
      ['a/x2.png', { rlrp: 'a/x2.rlrp.png', epsilon: 'a/x2.epsilon.png' }],
      ['b/x1.png', { rlrp: 'b/x1.rlrp.png', epsilon: 'b/x1.epsilon.png' }],
    ]);
    expect(() => planOutputs(imageFiles([join(root, 'a/x1.png'), join(root, 'b/x1.png')]).files, ['rlrp'])).toThrow(/a\/x1\.png and .*b\/x1\.png would both write x1\.png/);
  });
});

describe('rlrp explain on the bundled model and image', () => {
  it('fashion_sample.png with --preprocess unit gives exactly the relevance of fashion_sample.npy; the grid holds the input and the WGSL heatmaps', async () => {
    const out = join(dir, 'single');
    mkdirSync(out);
    const [image, array, predicted] = await Promise.all([
      run(['explain', '--model', FASHION, '--image', weights('images/fashion_sample.png'), '--preprocess', 'unit', '--method', 'rlrp,epsilon-plus-flat',
        '--labels', LABELS, '--colormap', 'seismic', '--overlay', '0.6', '--clip', '99', '--out', join(out, 'grid.png'), '--out-npy', join(out, 'image.npy'), '--json']),
      run(['explain', '--model', FASHION, '--input', weights('fashion_sample.npy'), '--method', 'rlrp', '--out-npy', join(out, 'array.npy')]),
      run(['predict', '--model', FASHION, '--image', weights('images/fashion_sample.png'), '--preprocess', 'unit', '--top', '3', '--json']),
    ]);
    expect(image.stderr).not.toMatch(/rlrp:/);
    expect([image.code, array.code, predicted.code]).toEqual([0, 0, 0]);
    const result = json(image);
    // Top classes from Keras's logits for this sample (weights/fashion_reference.json), named by
    // --labels for explain; predict has no --labels, and 10 classes get no default names.
    const want = reference.models.fashion_cnn.sample_logits;
    const order = want.map((_, c) => c).sort((a, b) => want[b] - want[a]);
    expect(result.top.map((e: { class: number }) => e.class)).toEqual(order.slice(0, 5));
    result.top.forEach((e: { class: number; name: string; logit: number }) => {
      expect(e.name).toBe(reference.class_names[e.class]);
      expect(Math.abs(e.logit - want[e.class])).toBeLessThan(1e-3);
    });
    const prediction = json(predicted);
    expect(prediction.preset).toBe('unit');
    expect(prediction.images).toHaveLength(1);
    expect(prediction.images[0].top.map((e: { class: number; name?: string }) => [e.class, e.name])).toEqual(order.slice(0, 3).map((c) => [c, undefined]));
    prediction.images[0].logits.forEach((v: number, c: number) => expect(Math.abs(v - want[c])).toBeLessThan(1e-3));
    expect(result).toMatchObject({ target: 9, preset: 'unit', methods: ['rlrp', 'epsilon-plus-flat'] });
    // Same input bits, same passes: the image path's relevance is the array path's, exactly.
    const fromImage = readNpy(join(out, 'image.rlrp.npy'));
    const fromArray = readNpy(join(out, 'array.npy'));
    expect(fromImage.shape).toEqual([1, 28, 28, 1]);
    expect(Array.from(fromImage.data)).toEqual(Array.from(fromArray.data));
    // The grid: 28 x 28 panels shown 9x (252 px), three in a row under one line of titles.
    const grid = await readImage(join(out, 'grid.png'));
    expect([grid.width, grid.height]).toEqual([4 + 3 * (252 + 4), 4 + FONT.height + 2 + 252 + 4]);
    const pixels = loadPixels(await readImage(weights('images/fashion_sample.png')), { colorMode: 'grayscale' });
    const options = { colormap: 'seismic', scale: { percentile: 99 }, overlay: { image: pixels, opacity: 0.6 } } as const;
    const expected = [
      { image: toRgba(pixels), title: 'Ankle boot' },
      { image: heatmap(fromArray.data, { shape: fromArray.shape }, options), title: 'rlrp' },
      { image: heatmap(readNpy(join(out, 'image.epsilon-plus-flat.npy')).data, { shape: fromArray.shape }, options), title: 'epsilon-plus-flat' },
    ];
    // Panel by panel against the CPU reference heatmaps (float64 sums: at most a colour step plus overlay rounding).
    expect(maxDifference(panel(grid, 0, 252).data, panel(composeGrid([expected[0]], { scale: 9 }), 0, 252).data)).toBe(0);
    for (const i of [1, 2]) {
      const worst = maxDifference(panel(grid, i, 252).data, panel(composeGrid([expected[i]], { scale: 9 }), 0, 252).data);
      console.log(`grid panel ${expected[i].title}: worst channel difference to the CPU heatmap ${worst}`);
      expect(worst).toBeLessThanOrEqual(4);
    }
    // Titles included, the whole picture is the reference grid.
    expect(maxDifference(grid.data, composeGrid(expected, { scale: 9 }).data)).toBeLessThanOrEqual(4);
  });
});

describe('rlrp explain on a folder', () => {
  it('writes a grid and heatmaps per image and summary.json; a run killed after its first batch resumes without redoing finished images', async () => {
    const images = join(dir, 'batch-in');
    const out = join(dir, 'batch-out');
    mkdirSync(images);
    const samples = readNpy(weights('fashion_samples.npy'));
    const count = 12;
    for (let n = 0; n < count; n++) {
      const data = new Uint8Array(28 * 28 * 4);
      for (let p = 0; p < 784; p++) data.set([...new Array<number>(3).fill(Math.round(samples.data[n * 784 + p] * 255)), 255], p * 4);
      writeFileSync(join(images, `s${String(n).padStart(2, '0')}.png`), encodePng({ width: 28, height: 28, data }, (raw) => deflateSync(raw)));
    }
    // A truncated PNG: recorded as failed, retried by every run, and the run's exit code is 1.
    writeFileSync(join(images, 'broken.png'), readFileSync(join(images, 's00.png')).subarray(0, 120));
    const args = ['explain', '--model', FASHION, '--image', images, '--preprocess', 'unit', '--method', 'rlrp,epsilon', '--labels', LABELS, '--out', out, '--batch-size', '4', '--json'];

    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' }, stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; signal: string | null }>((done) => child.on('exit', (code, signal) => done({ code, signal })));
    let finished = false;
    void exited.then(() => (finished = true));
    const summaryPath = join(out, 'summary.json');
    const recorded = () => (existsSync(summaryPath) ? (JSON.parse(readFileSync(summaryPath, 'utf8')) as { images: unknown[] }).images.length : 0);
    while (!finished && recorded() === 0) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' }); // killed mid-run, not finished
    const first = JSON.parse(readFileSync(summaryPath, 'utf8')) as { images: { file: string; grid: string; heatmaps: Record<string, string> }[] };
    const done = first.images.length;
    console.log(`killed after ${done} of ${count} images`);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(count);
    const mtimes = first.images.map((e) => statSync(join(out, e.grid)).mtimeMs);

    const rerun = await run(args);
    expect(rerun.code).toBe(1);
    expect(rerun.stderr).toMatch(/rlrp: ImageError: 1 image could not be explained \(see .*summary\.json\)/);
    expect(json(rerun)).toMatchObject({ explained: count - done, skipped: done, failed: 1 });
    // The finished images were not written again.
    first.images.forEach((e, i) => expect(statSync(join(out, e.grid)).mtimeMs).toBe(mtimes[i]));

    const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as {
      settings: { methods: string[] };
      images: { file: string; grid: string; heatmaps: Record<string, string>; top: { class: number; name: string; score: number }[]; target: number; timings: Record<string, number> }[];
      failed: { file: string; error: string }[];
    };
    expect(summary.settings.methods).toEqual(['rlrp', 'epsilon']);
    expect(summary.failed).toEqual([{ file: join(images, 'broken.png'), error: expect.stringMatching(/broken\.png: .*(truncated|corrupt)/) }]);
    expect(summary.images.map((e) => e.grid).sort()).toEqual(Array.from({ length: count }, (_, n) => `s${String(n).padStart(2, '0')}.png`));
    for (const entry of summary.images) {
      const n = Number(entry.grid.slice(1, 3));
      const logits = reference.models.fashion_cnn.logits[n];
      const best = logits.indexOf(Math.max(...logits));
      expect(entry.top).toHaveLength(5);
      expect(entry.top[0]).toMatchObject({ class: best, name: reference.class_names[best] });
      expect(entry.target).toBe(best);
      expect(entry.heatmaps).toEqual({ rlrp: `s${String(n).padStart(2, '0')}.rlrp.png`, epsilon: `s${String(n).padStart(2, '0')}.epsilon.png` });
      expect(entry.timings.explain_ms).toBeGreaterThan(0);
      const grid = await readImage(join(out, entry.grid));
      expect([grid.width, grid.height]).toEqual([4 + 3 * (252 + 4), 4 + FONT.height + 2 + 252 + 4]);
      const heat = await readImage(join(out, entry.heatmaps.rlrp));
      expect([heat.width, heat.height]).toEqual([252, 252]);
    }
  });
});

describe('rlrp with a model by name', () => {
  let mirror: Mirror;
  const cacheDir = join(dir, 'zoo-cache');

  beforeAll(async () => {
    ensureMobilenet();
    mirror = await serveMobilenetMirror();
  }, 20 * 60_000);
  afterAll(() => mirror?.close());

  it('explain --model mobilenet downloads with a progress bar, preprocesses with tf, prints ImageNet top-5 and writes the grid; inspect shows the preset offline; a grey image is refused', async () => {
    const grid = join(dir, 'cat.png');
    const env = { RLRP_ZOO_MIRROR: mirror.base };
    const explained = await run(['explain', '--model', 'mobilenet', '--cache-dir', cacheDir, '--image', weights('images/cat.jpg'), '--crop', '--interpolation', 'bilinear', '--out', grid, '--json'], env);
    expect(explained.stderr).not.toMatch(/rlrp:/);
    expect(explained.code).toBe(0);
    expect(mirror.requests).toEqual(['/mirror/mobilenet/mobilenet_1_0_224_tf.h5']);
    expect(explained.stderr).toMatch(/mobilenet weights \[#{24}\] 100% 17\.\d MB\/17\.\d MB/);
    const result = json(explained);
    expect(result).toMatchObject({ model: 'mobilenet', preset: 'tf', methods: ['rlrp'] });
    // The library's own path for the same file and options: same top-5 and logits.
    const { model } = await loadNamedModel('mobilenet', { cacheDir, gpu: await testGpu() });
    try {
      const x = modelInput(await readImage(weights('images/cat.jpg')), model.info.inputShape, { preset: 'tf', keepAspectRatio: true, interpolation: 'bilinear' });
      const { logits } = await model.predict(x);
      const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, 5);
      expect(result.top.map((e: { class: number }) => e.class)).toEqual(order);
      result.top.forEach((e: { class: number; name: string; logit: number }) => {
        expect(e.name).toBe(IMAGENET[e.class]);
        expect(Math.abs(e.logit - logits[e.class])).toBeLessThan(1e-4);
      });
      expect(result.target).toBe(order[0]);
    } finally {
      model.destroy();
    }
    const picture = await readImage(grid);
    expect([picture.width, picture.height]).toEqual([4 + 2 * (224 + 4), 4 + FONT.height + 2 + 224 + 4]);

    const [inspected, grey] = await Promise.all([
      run(['inspect', '--model', 'mobilenet', '--cache-dir', cacheDir, '--json'], env),
      run(['explain', '--model', 'mobilenet', '--cache-dir', cacheDir, '--image', weights('images/fashion_sample.png')], env),
    ]);
    expect(inspected.code).toBe(0);
    expect(json(inspected)).toMatchObject({ model: 'mobilenet_1.00_224', preset: 'tf', preset_origin: 'Keras Applications mobilenet', supported: true });
    expect(grey.code).toBe(1);
    expect(grey.stderr).toMatch(/ImageError: .*fashion_sample\.png is a greyscale image but the model takes 3-channel colour input; .*--grey-to-rgb/);
    expect(mirror.requests).toHaveLength(1); // offline after the first download
  });
});

describe('rlrp bad input', () => {
  it('every bad input gives a clear message and the documented exit code', async () => {
    const notImage = join(dir, 'notes.png');
    writeFileSync(notImage, 'these are notes, not pixels\n');
    const image = weights('images/fashion_sample.png');
    const base = ['explain', '--model', FASHION, '--preprocess', 'unit'];
    const cases: [string[], number, RegExp][] = [
      [[...base, '--image', join(dir, 'missing.png')], 1, /ImageError: .*missing\.png: no such image file or folder/],
      [[...base, '--image', join(dir, 'nothing-*.png'), '--out', dir], 1, /ImageError: no files match '.*nothing-\*\.png'/],
      [[...base, '--image', notImage], 1, /ImageError: .*notes\.png: not a PNG or JPEG image/],
      [['explain', '--model', FASHION, '--image', image, '--preprocess', 'bgr'], 1, /ImageError: unknown preprocessing preset 'bgr' \(valid: caffe, tf, torch, unit, raw\)/],
      [[...base, '--image', image, '--method', 'rlrp,lrp-magic'], 1, /unknown method 'lrp-magic' \(available: rlrp, /],
      [[...base, '--image', image, '--colormap', 'rainbow'], 1, /ImageError: unknown colour map 'rainbow' \(valid: bwr, seismic, hot, gray, viridis, coldnhot\)/],
      [[...base, '--image', image, '--interpolation', 'lanczos'], 1, /unknown interpolation 'lanczos'/],
      [['explain', '--model', 'vgg17', '--image', image], 1, /UnknownModelError: 'vgg17' is neither a model file nor a model name \(the models known by name are vgg16, vgg19, resnet50, mobilenet\)/],
      [['explain', '--model', join(dir, 'missing.h5'), '--image', image], 1, /ModelFormatError: could not read model file '.*missing\.h5'/],
      [[...base, '--image', image, '--labels', join(dir, 'missing.json')], 1, /ImageError: could not read --labels '.*missing\.json': ENOENT/],
      [['explain', '--model', FASHION, '--image', image], 2, /fashion_cnn\.h5 records no preprocessing preset: give --preprocess <caffe\|tf\|torch\|unit\|raw>/],
      [[...base, '--image', weights('images')], 2, /several images need --out <folder>/],
      [[...base, '--image', image, '--overlay', '1.5'], 2, /--overlay must be an opacity from 0 to 1, got 1\.5/],
      [[...base, '--image', image, '--clip', '0'], 2, /--clip must be a percentile in \(0, 100\], got 0/],
      [[...base, '--image', image, '--frobnicate'], 2, /Unknown option '--frobnicate'/],
      [['explain', '--model', FASHION], 2, /explain needs --image <file\|folder\|glob> or --input <x\.npy>/],
      [['explode'], 2, /unknown command 'explode'/],
      [[], 2, /usage: rlrp <command>/],
    ];
    // A few at a time: the machine is shared.
    const results: Run[] = [];
    for (let i = 0; i < cases.length; i += 4) results.push(...(await Promise.all(cases.slice(i, i + 4).map(([args]) => run(args)))));
    cases.forEach(([args, code, message], i) => {
      expect({ args, code: results[i].code }).toEqual({ args, code });
      expect(results[i].stderr).toMatch(message);
      if (code === 2 && args.length > 0) expect(results[i].stderr).toMatch(/usage: rlrp/);
    });
  });

  it('--help for every command, with examples and the exit codes', async () => {
    const helps = await Promise.all([['--help'], ['explain', '--help'], ['predict', '--help'], ['inspect', '--help'], ['help', 'explain']].map((args) => run(args)));
    for (const help of helps) {
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/examples:\n {2}rlrp /);
      expect(help.stdout).toMatch(/exit codes:\n {2}0 {2}success\n {2}1 {2}runtime error.*\n(.*\n)* {2}2 {2}usage error/);
    }
    expect(helps[1].stdout).toMatch(/--model <file\|name>.*\n.*vgg16, vgg19, resnet50, mobilenet/);
    expect(helps[1].stdout).toMatch(/--colormap <name> +bwr, seismic, hot, gray, viridis, coldnhot/);
    expect(helps[4].stdout).toBe(helps[1].stdout);
  });
});
