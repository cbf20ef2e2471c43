import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model } from '../src/model.js';
import { testGpu } from './helpers/gpu.js';
import { readNpy } from './helpers/fixtures.js';

// Keras Applications VGG16, VGG19, ResNet50 and MobileNet at 224x224 with random weights load and
// run, and their logits match Keras's (max abs difference <= 1e-3 of the logit range). The models
// are ~1.2 GB in all, so they are not committed: scripts/keras-apps/setup.sh writes them (with
// Keras from pip) into .cache/keras-apps on first use and reuses them after. VGG's fc1 kernel
// (25088x4096 floats, 392 MiB) is larger than a 128 MiB storage binding, so this also exercises
// splitting a weight across bindings.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = process.env.KERAS_APPS_DIR ?? join(ROOT, '.cache', 'keras-apps');
const MODELS = ['vgg16', 'vgg19', 'resnet50', 'mobilenet'];

interface Entry { file: string; inputs: string; logits: string; logits_shape: number[]; files: Record<string, number> }
type Manifest = { keras_version: string; backend: string; models: Record<string, Entry> };

function readManifest(): Manifest | undefined {
  const path = join(DIR, 'manifest.json');
  if (!existsSync(path)) return undefined;
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  const complete = MODELS.every((name) => {
    const entry = manifest.models[name];
    return entry && Object.entries(entry.files).every(([f, size]) => existsSync(join(DIR, f)) && statSync(join(DIR, f)).size === size);
  });
  return complete ? manifest : undefined;
}

/** Generation failing fails the tests, in CI and elsewhere: these checks never skip. */
function ensureModels(): Manifest {
  let manifest = readManifest();
  if (!manifest) {
    console.log(`generating Keras Applications models in ${DIR} (a few minutes, once)`);
    execFileSync('bash', [join(ROOT, 'scripts', 'keras-apps', 'setup.sh'), DIR], { stdio: 'inherit', timeout: 25 * 60_000 });
    manifest = readManifest();
    if (!manifest) throw new Error(`scripts/keras-apps/setup.sh ran but ${DIR}/manifest.json still lacks some of ${MODELS.join(', ')}`);
  }
  return manifest;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
function range(x: ArrayLike<number>): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) { lo = Math.min(lo, x[i]); hi = Math.max(hi, x[i]); }
  return hi - lo;
}
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

describe('Keras Applications at 224x224', () => {
  let manifest: Manifest;
  const report: string[] = [];
  beforeAll(() => { manifest = ensureModels(); }, 30 * 60_000);
  afterAll(() => {
    // maxRSS is this worker's peak so far, in KiB.
    report.push(`peak RSS ${mib(process.resourceUsage().maxRSS * 1024)}; Keras ${manifest?.keras_version} (${manifest?.backend})`);
    console.log(report.join('\n'));
  });

  for (const name of MODELS) {
    it(name, async () => {
      const entry = manifest.models[name];
      const gpu = await testGpu();
      const t0 = performance.now();
      const model = await Model.load(join(DIR, entry.file), { gpu });
      try {
        const t1 = performance.now();
        const x = readNpy(join(DIR, entry.inputs));
        const expected = readNpy(join(DIR, entry.logits));
        // One predict (it includes compiling the plan): on lavapipe VGG19 takes over a minute per call.
        const { logits, batch, classes } = await model.predict(x.data, x.shape);
        const t2 = performance.now();

        const diff = maxAbsDiff(logits, expected.data);
        const r = range(expected.data);
        report.push(`${name}: load ${(t1 - t0).toFixed(0)} ms, predict ${(t2 - t1).toFixed(0)} ms (batch ${batch}, plan compile included), max |diff| ${diff.toPrecision(3)} / range ${r.toPrecision(4)} = ${(diff / r).toExponential(2)}`);

        expect([batch, classes]).toEqual(entry.logits_shape);
        expect([batch, classes]).toEqual([2, 1000]);
        expect(logits.every(Number.isFinite)).toBe(true);
        expect(diff).toBeLessThanOrEqual(1e-3 * r);
      } finally {
        // One model at a time: VGG's weights take ~530 MiB of (lavapipe: host) memory each.
        model.destroy();
      }
    });
  }
});
