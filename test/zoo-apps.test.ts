import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNamedModel } from '../src/zoo/index.js';
import { readNpy } from './helpers/fixtures.js';
import { testGpu } from './helpers/gpu.js';

// MobileNet by name, end to end: the weights-only legacy HDF5 that Keras's own legacy writer
// makes (the layout of the official ImageNet files; here random weights, written by
// scripts/keras-apps/setup.sh) is served from a loopback HTTP server as the "mirror", downloaded
// into a fresh cache, loaded with the committed architecture weights/zoo/mobilenet.json, and its
// logits compared with Keras's (max abs difference <= 1e-3 of the logit range, as for the
// full-model files in applications.test.ts). Generation failing fails the test: it never skips.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = process.env.KERAS_APPS_DIR ?? join(ROOT, '.cache', 'keras-apps');
const WEIGHTS = 'mobilenet.legacy-weights.h5';

interface Entry { inputs: string; logits: string; files: Record<string, number> }

function mobilenetEntry(): Entry | undefined {
  const path = join(DIR, 'manifest.json');
  if (!existsSync(path)) return undefined;
  const entry = (JSON.parse(readFileSync(path, 'utf8')) as { models: Record<string, Entry> }).models.mobilenet;
  const complete = entry && WEIGHTS in entry.files && Object.entries(entry.files).every(([f, size]) => existsSync(join(DIR, f)) && statSync(join(DIR, f)).size === size);
  return complete ? entry : undefined;
}

function ensureMobilenet(): Entry {
  let entry = mobilenetEntry();
  if (!entry) {
    console.log(`generating the Keras Applications MobileNet test files in ${DIR} (about a minute, once)`);
    execFileSync('bash', [join(ROOT, 'scripts', 'keras-apps', 'setup.sh'), DIR, '--models', 'mobilenet'], { stdio: 'inherit', timeout: 15 * 60_000 });
    entry = mobilenetEntry();
    if (!entry) throw new Error(`scripts/keras-apps/setup.sh ran but ${DIR}/manifest.json still lacks MobileNet's ${WEIGHTS}`);
  }
  return entry;
}

describe('mobilenet by name from a mirror', () => {
  let entry: Entry;
  let server: Server;
  let base: string;
  let cacheDir: string;
  const requests: string[] = [];

  beforeAll(async () => {
    entry = ensureMobilenet();
    const bytes = readFileSync(join(DIR, WEIGHTS));
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/mirror/mobilenet/mobilenet_1_0_224_tf.h5') res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
      else res.writeHead(404).end();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mirror`;
    cacheDir = mkdtempSync(join(tmpdir(), 'rlrp-zoo-apps-'));
  }, 20 * 60_000);
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  });

  it("downloads, loads with weights/zoo/mobilenet.json and reproduces Keras's logits; the second load is offline", async () => {
    const gpu = await testGpu();
    const { model, resolved } = await loadNamedModel('mobilenet', { cacheDir, baseUrl: base, gpu });
    try {
      expect(resolved).toMatchObject({ fromCache: false, preset: 'tf', inputShape: [224, 224, 3], classes: 1000 });
      expect(model.info.format).toBe('legacy-weights-h5');
      const x = readNpy(join(DIR, entry.inputs));
      const want = readNpy(join(DIR, entry.logits));
      const { logits, batch, classes } = await model.predict(x.data, x.shape);
      expect([batch, classes]).toEqual([2, 1000]);
      let diff = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < want.data.length; i++) {
        diff = Math.max(diff, Math.abs(logits[i] - want.data[i]));
        lo = Math.min(lo, want.data[i]);
        hi = Math.max(hi, want.data[i]);
      }
      console.log(`mobilenet by name: max |diff| ${diff.toPrecision(3)} / range ${(hi - lo).toPrecision(4)}`);
      expect(diff).toBeLessThanOrEqual(1e-3 * (hi - lo));
    } finally {
      model.destroy();
    }
    const again = await loadNamedModel('mobilenet', { cacheDir, baseUrl: base, gpu });
    again.model.destroy();
    expect(again.resolved.fromCache).toBe(true);
    expect(requests).toEqual(['/mirror/mobilenet/mobilenet_1_0_224_tf.h5']);
  });
});
