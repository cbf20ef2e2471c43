import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNamedModel } from '../src/zoo/index.js';
import { readNpy } from './helpers/fixtures.js';
import { testGpu } from './helpers/gpu.js';
import { ensureMobilenet, KERAS_APPS_DIR, serveMobilenetMirror, type KerasAppsEntry, type Mirror } from './helpers/keras-apps.js';

// MobileNet by name, end to end: the weights-only legacy HDF5 that Keras's own legacy writer
// makes (the layout of the official ImageNet files; here random weights, written by
// scripts/keras-apps/setup.sh) is served from a loopback HTTP server as the "mirror", downloaded
// into a fresh cache, loaded with the committed architecture weights/zoo/mobilenet.json, and its
// logits compared with Keras's (max abs difference <= 1e-3 of the logit range, as for the
// full-model files in applications.test.ts). Generation failing fails the test: it never skips.
describe('mobilenet by name from a mirror', () => {
  let entry: KerasAppsEntry;
  let mirror: Mirror;
  let cacheDir: string;

  beforeAll(async () => {
    entry = ensureMobilenet();
    mirror = await serveMobilenetMirror();
    cacheDir = mkdtempSync(join(tmpdir(), 'rlrp-zoo-apps-'));
  }, 20 * 60_000);
  afterAll(async () => {
    await mirror?.close();
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  });

  it("downloads, loads with weights/zoo/mobilenet.json and reproduces Keras's logits; the second load is offline", async () => {
    const gpu = await testGpu();
    const { model, resolved } = await loadNamedModel('mobilenet', { cacheDir, baseUrl: mirror.base, gpu });
    try {
      expect(resolved).toMatchObject({ fromCache: false, preset: 'tf', inputShape: [224, 224, 3], classes: 1000 });
      expect(model.info.format).toBe('legacy-weights-h5');
      const x = readNpy(join(KERAS_APPS_DIR, entry.inputs));
      const want = readNpy(join(KERAS_APPS_DIR, entry.logits));
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
    const again = await loadNamedModel('mobilenet', { cacheDir, baseUrl: mirror.base, gpu });
    again.model.destroy();
    expect(again.resolved.fromCache).toBe(true);
    expect(mirror.requests).toEqual(['/mirror/mobilenet/mobilenet_1_0_224_tf.h5']);
  });
});
