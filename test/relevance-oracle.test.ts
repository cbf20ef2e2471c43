import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Model } from '../src/model.js';
import { testGpu } from './helpers/gpu.js';
import { FIXTURE_MODELS, FIXTURES, fixture, fixturesAvailable, readNpy } from './helpers/fixtures.js';

// The GPU relevance pass against ../shared/oracle: R-LRP and R-LRP+ from an independent float64
// implementation of the spec. Per sample relative L2 error ||ours - ref|| / ||ref|| within the
// case's tol_rel_l2; samples the oracle marks fragile are not judged.
const available = fixturesAvailable();
const ORACLE = join(FIXTURES, '..', 'oracle');
const METHODS: Record<string, { method: 'rlrp' | 'rlrp-plus'; skip: 'product' | 'ratio' }> = {
  rlrp: { method: 'rlrp', skip: 'product' },
  'rlrp-ratio': { method: 'rlrp', skip: 'ratio' },
  'rlrp-plus': { method: 'rlrp-plus', skip: 'product' },
  'rlrp-plus-ratio': { method: 'rlrp-plus', skip: 'ratio' },
};

interface OracleCase { id: string; model: string; methods: Record<string, { file: string; tol_rel_l2: number; fragile_samples: number[] }> }

describe.runIf(available)('GPU relevance matches the oracle', () => {
  const index = available ? (JSON.parse(readFileSync(join(ORACLE, 'index.json'), 'utf8')) as { cases: OracleCase[] }) : { cases: [] };
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));

  for (const c of index.cases) {
    const methods = Object.keys(c.methods).filter((m) => m in METHODS);
    it(`${c.id}: ${methods.join(', ')}`, async () => {
      const form = FIXTURE_MODELS.find((f) => f.id === c.id)?.forms[0] ?? { file: c.model };
      const model = await Model.load(fixture(form.file), { gpu: await testGpu(), config: form.config ? fixture(form.config) : undefined });
      models.push(model);
      const x = readNpy(join(ORACLE, c.id, 'input.npy'));
      const targets = Array.from(readNpy(join(ORACLE, c.id, 'targets.npy')).data);
      const per = x.data.length / x.shape[0];
      for (const name of methods) {
        const spec = c.methods[name];
        const { relevance, targets: used } = await model.explain(x.data, { ...METHODS[name], target: targets, shape: x.shape });
        expect(used).toEqual(targets);
        const ref = readNpy(join(ORACLE, c.id, spec.file)).data;
        for (let n = 0; n < x.shape[0]; n++) {
          if (spec.fragile_samples.includes(n)) continue;
          let diff = 0;
          let norm = 0;
          for (let i = n * per; i < (n + 1) * per; i++) {
            expect(Number.isFinite(relevance[i])).toBe(true);
            diff += (relevance[i] - ref[i]) ** 2;
            norm += ref[i] ** 2;
          }
          expect(Math.sqrt(diff / norm), `${name} sample ${n}`).toBeLessThanOrEqual(spec.tol_rel_l2);
        }
      }
    });
  }
});
