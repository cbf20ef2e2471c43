import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Model } from '../src/model.js';
import { testGpu } from './helpers/gpu.js';
import { readNpy } from './helpers/fixtures.js';

// The models shipped in weights/ (made by weights/train_fashion_models.py) against the
// logits Keras recorded for them in weights/fashion_reference.json.
const reference = JSON.parse(readFileSync('weights/fashion_reference.json', 'utf8'));

describe('bundled Fashion-MNIST models', () => {
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));

  for (const [name, entry] of Object.entries<{ file: string; logits: number[][]; predictions: number[] }>(reference.models)) {
    it(`${name} reproduces Keras's logits and predictions`, async () => {
      const model = await Model.load(`weights/${entry.file}`, { gpu: await testGpu() });
      models.push(model);
      const x = readNpy(`weights/${reference.samples_file}`);
      const { logits, classes } = await model.predict(x.data, x.shape);
      const want = entry.logits.flat();
      const range = Math.max(...want) - Math.min(...want);
      want.forEach((v, i) => expect(Math.abs(logits[i] - v)).toBeLessThanOrEqual(1e-3 * range));
      entry.predictions.forEach((p, i) => {
        const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
        expect(row.indexOf(Math.max(...row))).toBe(p);
      });
    });
  }
});
