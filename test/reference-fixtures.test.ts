import { describe, expect, it } from 'vitest';
import { loadGraph } from '../src/graph/from-keras.js';
import { referenceForward } from '../src/reference/forward.js';
import { FIXTURE_MODELS, fixture, fixturesAvailable, loadDataset, preprocess, readNpy } from './helpers/fixtures.js';

// The float64 CPU reference on every fixture model and file form: checks loading, graph
// building and canonicalisation against Keras's own logits, independently of the GPU.
const available = fixturesAvailable();

describe.runIf(available)('CPU reference reproduces Keras logits', () => {
  for (const model of FIXTURE_MODELS) {
    for (const form of model.forms) {
      it(`${model.id}: ${form.file}${form.config ? ' + ' + form.config : ''}`, async () => {
        const { graph } = await loadGraph(fixture(form.file), form.config ? { config: fixture(form.config) } : {});
        let inputs: Float32Array, expected: Float32Array, batch: number;
        if (model.referenceInputs) {
          const x = readNpy(fixture('reference', model.id, 'inputs.npy'));
          inputs = x.data;
          batch = x.shape[0];
          expected = readNpy(fixture('reference', model.id, 'logits.npy')).data;
        } else {
          const data = loadDataset(model.data!.name);
          batch = 16;
          inputs = preprocess(data, model.data!.preprocess, 0, batch);
          const all = readNpy(fixture('reference', model.id, `logits_${model.data!.name}.npy`));
          expected = all.data.subarray(0, batch * all.shape[1]);
        }
        const out = referenceForward(graph, inputs, batch)[graph.output];
        const range = Math.max(...expected) - Math.min(...expected);
        let maxDiff = 0;
        for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - expected[i]));
        expect(out.length).toBe(expected.length);
        expect(maxDiff).toBeLessThanOrEqual(1e-3 * range);
      });
    }
  }
});
