import { afterAll, describe, expect, it } from 'vitest';
import { Model } from '../src/model.js';
import { testGpu } from './helpers/gpu.js';
import { FIXTURE_MODELS, fixture, fixturesAvailable, loadDataset, preprocess, readNpy, referenceJson } from './helpers/fixtures.js';

// Our WGSL forward pass on every fixture model and file form against Keras's recorded logits
// (max abs difference <= 1e-3 of the logit range) and the recorded accuracy (at most one
// sample may differ).
const available = fixturesAvailable();

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
const range = (x: ArrayLike<number>) => Math.max(...Array.from(x)) - Math.min(...Array.from(x));
const argmax = (row: ArrayLike<number>) => Array.from(row).reduce((best, v, i, all) => (v > all[best] ? i : best), 0);

describe.runIf(available)('WGSL forward pass reproduces Keras', () => {
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));

  for (const spec of FIXTURE_MODELS) {
    spec.forms.forEach((form, formIndex) => {
      it(`${spec.id}: ${form.file}${form.config ? ' + ' + form.config : ''}`, async () => {
        const gpu = await testGpu();
        const model = await Model.load(fixture(form.file), { gpu, config: form.config ? fixture(form.config) : undefined });
        models.push(model);
        if (spec.referenceInputs) {
          const x = readNpy(fixture('reference', spec.id, 'inputs.npy'));
          const expected = readNpy(fixture('reference', spec.id, 'logits.npy'));
          const { logits } = await model.predict(x.data, x.shape);
          expect(maxAbsDiff(logits, expected.data)).toBeLessThanOrEqual(1e-3 * range(expected.data));
        }
        // The full data set once per model (first form): logits and accuracy.
        if (spec.data && formIndex === 0) {
          const data = loadDataset(spec.data.name);
          const ref = referenceJson(spec.id).datasets[0];
          const expected = readNpy(fixture('reference', spec.id, ref.logits_file));
          const { logits, classes } = await model.predict(preprocess(data, spec.data.preprocess), data.shape);
          expect(maxAbsDiff(logits, expected.data)).toBeLessThanOrEqual(1e-3 * range(expected.data));
          let correct = 0;
          let disagreements = 0;
          for (let i = 0; i < data.shape[0]; i++) {
            const predicted = argmax(logits.subarray(i * classes, (i + 1) * classes));
            if (i < data.labelled && predicted === data.labels[i]) correct++;
            if (predicted !== ref.argmax[i]) disagreements++;
          }
          expect(Math.abs(correct - ref.correct)).toBeLessThanOrEqual(1);
          expect(disagreements).toBeLessThanOrEqual(1);
        }
      });
    });
  }
});
