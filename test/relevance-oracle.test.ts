import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NumericalError } from '../src/errors.js';
import { Model, type ExplainOptions } from '../src/model.js';
import { testGpu } from './helpers/gpu.js';
import { FIXTURE_MODELS, FIXTURES, fixture, fixturesAvailable, readNpy } from './helpers/fixtures.js';

// The GPU relevance pass against ../shared/oracle: R-LRP and R-LRP+ from an independent float64
// implementation of the spec, the classical rules, composites and gradients from zennit. Per sample relative L2 error ||ours - ref|| / ||ref|| within the
// case's tol_rel_l2; samples the oracle marks fragile are not judged.
const available = fixturesAvailable();
const ORACLE = join(FIXTURES, '..', 'oracle');
/** Oracle method name to explain() options; ZBox's bounds are the case's input domain. */
type Options = Pick<ExplainOptions, 'method' | 'skip' | 'low' | 'high'>;
const METHODS: Record<string, (domain: [number, number]) => Options> = {
  rlrp: () => ({ method: 'rlrp', skip: 'product' }),
  'rlrp-ratio': () => ({ method: 'rlrp', skip: 'ratio' }),
  'rlrp-plus': () => ({ method: 'rlrp-plus', skip: 'product' }),
  'rlrp-plus-ratio': () => ({ method: 'rlrp-plus', skip: 'ratio' }),
  ...Object.fromEntries((['gradient', 'gradient-x-input', 'lrp0', 'epsilon', 'zplus', 'alpha-beta', 'gamma', 'epsilon-plus', 'epsilon-alpha2-beta1', 'epsilon-plus-flat'] as const)
    .map((method) => [method, (): Options => ({ method })])),
  'epsilon-gamma-box': ([low, high]) => ({ method: 'epsilon-gamma-box', low, high }),
};

interface OracleCase {
  id: string;
  model: string;
  input: { domain: [number, number] };
  methods: Record<string, { file: string; tol_rel_l2: number | null; fragile_samples?: number[] }>;
}

describe.runIf(available)('GPU relevance matches the oracle', () => {
  const index = available ? (JSON.parse(readFileSync(join(ORACLE, 'index.json'), 'utf8')) as { cases: OracleCase[] }) : { cases: [] };
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));
  const worst: string[] = [];
  afterAll(() => console.log(`worst judged rel-L2 GPU vs oracle:\n${worst.join('\n')}`));

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
        const explained = model.explain(x.data, { ...METHODS[name](c.input.domain), target: targets, shape: x.shape });
        if (spec.tol_rel_l2 === null) {
          // zennit divides by an exactly zero z here (LRP-0); the GPU must not hide it either:
          // values beyond 1e20, or (where they are not finite) a NumericalError instead of a NaN heatmap.
          const blowsUp = await explained.then((r) => r.relevance.some((v) => Math.abs(v) > 1e20), (e) => e instanceof NumericalError);
          expect(blowsUp, `${name} blows up like zennit`).toBe(true);
          continue;
        }
        const { relevance, targets: used } = await explained;
        expect(used).toEqual(targets);
        const ref = readNpy(join(ORACLE, c.id, spec.file)).data;
        let worstSample = 0;
        for (let n = 0; n < x.shape[0]; n++) {
          if (spec.fragile_samples?.includes(n)) continue;
          let diff = 0;
          let norm = 0;
          for (let i = n * per; i < (n + 1) * per; i++) {
            expect(Number.isFinite(relevance[i])).toBe(true);
            diff += (relevance[i] - ref[i]) ** 2;
            norm += ref[i] ** 2;
          }
          worstSample = Math.max(worstSample, Math.sqrt(diff / norm));
          expect(Math.sqrt(diff / norm), `${name} sample ${n}`).toBeLessThanOrEqual(spec.tol_rel_l2);
        }
        worst.push(`${c.id} ${name}: ${worstSample.toExponential(2)} (tol ${spec.tol_rel_l2})`);
      }
    });
  }
});
