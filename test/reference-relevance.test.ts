import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphFromKeras, loadGraph } from '../src/graph/from-keras.js';
import type { ConvNode, Graph } from '../src/graph/ir.js';
import { sizeOf } from '../src/graph/ir.js';
import { referenceForward } from '../src/reference/forward.js';
import { RELEVANCE_METHODS, referenceRelevance } from '../src/reference/relevance.js';
import { FIXTURE_MODELS, FIXTURES, fixture, readNpy } from './helpers/fixtures.js';
import { randomArray, rng, SyntheticModel } from './helpers/synthetic.js';

// The float64 CPU relevance reference (the yardstick for the GPU relevance kernels) against
// ../shared/oracle: R-LRP from an independent NumPy implementation of the spec, the classical
// rules from zennit. Then the spec's properties on small synthetic graphs.

const ORACLE = resolve(FIXTURES, '../oracle');

function oracleAvailable(): boolean {
  if (existsSync(join(ORACLE, 'index.json')) && existsSync(join(FIXTURES, 'MANIFEST.md'))) return true;
  if (process.env.CI === 'true') throw new Error(`oracle or fixtures not found beside ${FIXTURES}; CI must run beside ../shared`);
  console.warn(`SKIPPING oracle tests: ${ORACLE} not found (they run in CI, where it must exist)`);
  return false;
}

interface OracleMethod { file: string; tol_rel_l2: number | null; judged_samples?: number[]; note?: string }
interface OracleCase { id: string; model: string; input: { domain: [number, number] }; methods: Record<string, OracleMethod> }

/** Per sample ||cand - ref|| / ||ref|| (absolute where ||ref|| = 0), as the oracle defines it. */
function relL2PerSample(cand: ArrayLike<number>, ref: ArrayLike<number>, batch: number): number[] {
  const per = ref.length / batch;
  return Array.from({ length: batch }, (_, n) => {
    let d = 0, r = 0;
    for (let i = n * per; i < (n + 1) * per; i++) { d += (cand[i] - ref[i]) ** 2; r += ref[i] ** 2; }
    return r === 0 ? Math.sqrt(d) : Math.sqrt(d / r);
  });
}

const available = oracleAvailable();
const cases: OracleCase[] = available ? JSON.parse(readFileSync(join(ORACLE, 'index.json'), 'utf8')).cases : [];
const summary: string[] = [];
afterAll(() => { if (summary.length) console.log(`worst judged rel-L2 per case and method:\n${summary.join('\n')}`); });

describe.runIf(available)('reference relevance matches the oracle', () => {
  for (const c of cases) {
    describe(c.id, () => {
      let graph: Graph, input: Float32Array, targets: number[], batch: number;
      beforeAll(async () => {
        // The same file form the forward fixtures use (LeNet needs its architecture JSON).
        const form = FIXTURE_MODELS.find((m) => m.id === c.id)?.forms.find((f) => f.file === c.model) ?? { file: c.model };
        ({ graph } = await loadGraph(fixture(form.file), form.config ? { config: fixture(form.config) } : {}));
        const x = readNpy(join(ORACLE, c.id, 'input.npy'));
        input = x.data;
        batch = x.shape[0];
        targets = Array.from(readNpy(join(ORACLE, c.id, 'targets.npy')).data);
      });
      for (const [method, info] of Object.entries(c.methods)) {
        const options = { low: c.input.domain[0], high: c.input.domain[1] };
        if (info.tol_rel_l2 === null) {
          // zennit's LRP-0 divides by an exactly zero z here; the reference must reproduce that, not hide it.
          it(`${method}: non-finite like zennit (${info.note})`, () => {
            const { relevance } = referenceRelevance(graph, input, batch, targets, method, options);
            expect(relevance.some((v) => !Number.isFinite(v))).toBe(true);
          });
          continue;
        }
        it(`${method} within ${info.tol_rel_l2}`, () => {
          const { relevance } = referenceRelevance(graph, input, batch, targets, method, options);
          const errors = relL2PerSample(relevance, readNpy(join(ORACLE, c.id, info.file)).data, batch);
          const judged = info.judged_samples ?? errors.map((_, n) => n);
          const worst = Math.max(...judged.map((n) => errors[n]));
          summary.push(`${c.id.padEnd(28)} ${method.padEnd(22)} ${worst.toExponential(2)} (tol ${info.tol_rel_l2})`);
          expect(worst).toBeLessThanOrEqual(info.tol_rel_l2!);
        });
      }
    });
  }
});

// ---- Spec properties on synthetic graphs (no fixtures needed) ----

const conv = (filters: number, kernel: number[], extra: Record<string, unknown> = {}) => ({
  filters, kernel_size: kernel, strides: [1, 1], padding: 'same', dilation_rate: [1, 1], activation: 'relu', use_bias: true, ...extra,
});
const convVars = (k: number[], cin: number, filters: number, bias = true) => ({ kernel: [k[0], k[1], cin, filters], ...(bias ? { bias: [filters] } : {}) });
const denseVars = (inputs: number, units: number, bias = true) => ({ kernel: [inputs, units], ...(bias ? { bias: [units] } : {}) });

/** A CNN without merges: conv, max pool, conv (tanh), avg pool, dense, standalone BN, dense. */
function plainCnn(seed: number, bias = true): Graph {
  const m = new SyntheticModel(rng(seed));
  let x = m.input([8, 8, 2]);
  x = m.layer('Conv2D', conv(4, [3, 3], { use_bias: bias }), [x], convVars([3, 3], 2, 4, bias));
  x = m.layer('MaxPooling2D', { pool_size: [2, 2], strides: [2, 2], padding: 'valid' }, [x]);
  x = m.layer('Conv2D', conv(5, [3, 3], { activation: bias ? 'tanh' : 'relu', padding: 'valid', use_bias: bias }), [x], convVars([3, 3], 4, 5, bias));
  x = m.layer('AveragePooling2D', { pool_size: [2, 2], strides: [1, 1], padding: 'same' }, [x]);
  x = m.layer('Flatten', {}, [x]);
  x = m.layer('Dense', { units: 6, activation: 'relu', use_bias: bias }, [x], denseVars(20, 6, bias));
  if (bias) x = m.layer('BatchNormalization', { epsilon: 1e-3 }, [x], { gamma: [6], beta: [6], moving_mean: [6], moving_variance: [6] });
  x = m.layer('Dense', { units: 3, activation: 'softmax', use_bias: bias }, [x], denseVars(6, 3, bias));
  return graphFromKeras(m.build(x));
}

/** Input [3] -> Dense(3, relu) -> Dense(2) logits, weights set by hand so every product is exact. */
function handDenseNet(hidden: number[], logits: number[]): Graph {
  const m = new SyntheticModel(rng(1));
  const h = m.layer('Dense', { units: 3, activation: 'relu', use_bias: false, name: 'hidden' }, [m.input([3])], denseVars(3, 3, false));
  const graph = graphFromKeras(m.build(m.layer('Dense', { units: 2, use_bias: false, name: 'logits' }, [h], denseVars(3, 2, false))));
  const set = (name: string, values: number[]) => (graph.nodes.find((n) => n.kerasName === name && n.op === 'conv2d') as ConvNode).kernel.values().set(values);
  set('hidden', hidden);
  set('logits', logits);
  return graph;
}

/** The spec's default target: the predicted class of each sample. */
function predicted(graph: Graph, input: ArrayLike<number>, batch: number): number[] {
  const logits = referenceForward(graph, input, batch)[graph.output];
  const k = logits.length / batch;
  return Array.from({ length: batch }, (_, n) => {
    const row = Array.from(logits.subarray(n * k, (n + 1) * k));
    return row.indexOf(Math.max(...row));
  });
}

const l1 = (x: ArrayLike<number>) => Array.from(x).reduce((a, v) => a + Math.abs(v), 0);
const normalised = (x: ArrayLike<number>) => Array.from(x, (v) => v / l1(x));

describe('R-LRP properties (spec) on synthetic graphs', () => {
  // Identity hidden layer, so a = x; logit 0 = x0 - x1 + x2 cancels to exactly 0 (x2 = 0) or 1e-30.
  const cancelling = handDenseNet([1, 0, 0, 0, 1, 0, 0, 0, 1], [1, 0.5, -1, 0.25, 1, 0]);

  for (const [label, x2] of [['exactly 0', 0], ['1e-30', 1e-30]] as const) {
    it(`finite when the target pre-activation is ${label}, where LRP-0 is not`, () => {
      const x = [1, 1, x2];
      expect(referenceForward(cancelling, x, 1)[cancelling.output][0]).toBe(x2);
      for (const method of ['rlrp', 'rlrp-plus']) {
        const { relevance, layers } = referenceRelevance(cancelling, x, 1, [0], method);
        expect(relevance.every(Number.isFinite), method).toBe(true);
        for (const layer of layers) expect(layer.l1[0], method).toBeCloseTo(1, 12);
      }
      const lrp0 = referenceRelevance(cancelling, x, 1, [0], 'lrp0').relevance;
      const blowsUp = lrp0.some((v) => !Number.isFinite(v) || Math.abs(v) > 1e20);
      expect(blowsUp).toBe(true);
    });
  }

  it('finite (all zero) when every pre-activation is exactly 0, and for inputs of size 1e-30', () => {
    const graph = plainCnn(3, false);
    const size = sizeOf(graph.nodes[graph.input].shape);
    for (const method of ['rlrp', 'rlrp-plus']) {
      const zero = referenceRelevance(graph, new Float64Array(size), 1, [0], method).relevance;
      expect(zero.every((v) => v === 0), method).toBe(true);
      const small = Float64Array.from(randomArray(rng(4), size, 1), (v) => v * 1e-30);
      const tiny = referenceRelevance(graph, small, 1, predicted(graph, small, 1), method);
      expect(tiny.relevance.every(Number.isFinite), method).toBe(true);
      expect(l1(tiny.relevance), method).toBeCloseTo(1, 12);
    }
  });

  it('|R|_1 = 1 at every layer of a network without merges', () => {
    const graph = plainCnn(5);
    const batch = 3;
    const input = randomArray(rng(6), batch * sizeOf(graph.nodes[graph.input].shape), 1);
    for (const method of ['rlrp', 'rlrp-plus']) {
      const { layers } = referenceRelevance(graph, input, batch, predicted(graph, input, batch), method);
      expect(layers.map((l) => l.node)).toEqual(graph.nodes.map((n) => n.id));
      for (const layer of layers) for (const v of layer.l1) expect(v, `${method} node ${layer.node}`).toBeCloseTo(1, 12);
    }
  });

  it('the normalised heatmap does not change when the input is scaled by c > 0 (bias-free ReLU net)', () => {
    const graph = plainCnn(7, false);
    const input = randomArray(rng(8), 2 * sizeOf(graph.nodes[graph.input].shape), 1);
    for (const method of ['rlrp', 'rlrp-plus']) {
      const targets = predicted(graph, input, 2);
      const base = referenceRelevance(graph, input, 2, targets, method).relevance;
      for (const c of [1e-3, 3.7, 250]) {
        const scaled = referenceRelevance(graph, Float64Array.from(input, (v) => v * c), 2, targets, method).relevance;
        for (const n of [0, 1]) {
          const per = base.length / 2;
          const [a, b] = [base, scaled].map((r) => normalised(r.subarray(n * per, (n + 1) * per)));
          a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 12));
        }
      }
    }
  });

  it('equals x * W1^T diag(a1) W2^T diag(a2) W3^T e_t up to a positive factor (dense net with biases)', () => {
    const m = new SyntheticModel(rng(9));
    let x = m.input([7]);
    x = m.layer('Dense', { units: 6, activation: 'relu' }, [x], denseVars(7, 6));
    x = m.layer('Dense', { units: 5, activation: 'tanh' }, [x], denseVars(6, 5));
    const graph = graphFromKeras(m.build(m.layer('Dense', { units: 4 }, [x], denseVars(5, 4))));
    const input = randomArray(rng(10), 7, 1);
    const target = 3;
    // Closed form, computed here from the kernels with its own forward pass.
    const dense = graph.nodes.filter((n): n is ConvNode => n.op === 'conv2d');
    const acts: number[][] = [Array.from(input)];
    for (const layer of dense.slice(0, -1)) {
      const a = acts[acts.length - 1];
      const z = Array.from({ length: layer.outChannels }, (_, j) => a.reduce((s, v, i) => s + v * layer.kernel.values()[i * layer.outChannels + j], layer.bias![j]));
      acts.push(z.map((v) => (layer === dense[0] ? Math.max(v, 0) : Math.tanh(v))));
    }
    let v: number[] = Array.from({ length: 4 }, (_, j) => (j === target ? 1 : 0));
    for (let l = dense.length - 1; l >= 0; l--) {
      const layer = dense[l];
      v = acts[l].map((a, i) => a * v.reduce((s, r, j) => s + layer.kernel.values()[i * layer.outChannels + j] * r, 0));
    }
    const { relevance } = referenceRelevance(graph, input, 1, [target], 'rlrp');
    const factor = relevance.reduce((s, r, i) => s + r * v[i], 0);
    expect(factor).toBeGreaterThan(0);
    const [a, b] = [normalised(relevance), normalised(v)];
    a.forEach((r, i) => expect(r).toBeCloseTo(b[i], 12));
  });

  it('gradient x input equals LRP-0 times the target logit on a bias-free ReLU net', () => {
    // zennit seeds LRP with the one-hot e_t, so LRP-0 conserves 1 where gradient x input sums to the logit z_t.
    const m = new SyntheticModel(rng(11));
    let x = m.input([6, 6, 2]);
    x = m.layer('Conv2D', conv(4, [3, 3], { use_bias: false }), [x], convVars([3, 3], 2, 4, false));
    x = m.layer('MaxPooling2D', { pool_size: [2, 2], strides: [2, 2], padding: 'valid' }, [x]);
    x = m.layer('Conv2D', conv(3, [2, 2], { use_bias: false }), [x], convVars([2, 2], 4, 3, false));
    x = m.layer('Flatten', {}, [x]);
    const graph = graphFromKeras(m.build(m.layer('Dense', { units: 3, use_bias: false }, [x], denseVars(27, 3, false))));
    const input = randomArray(rng(12), 2 * 72, 1);
    const targets = [1, 2]; // any class: the identity holds for every logit
    const logits = referenceForward(graph, input, 2)[graph.output];
    const gxi = referenceRelevance(graph, input, 2, targets, 'gradient-x-input').relevance;
    const lrp0 = referenceRelevance(graph, input, 2, targets, 'lrp0').relevance;
    const scale = Math.max(...gxi.map(Math.abs));
    gxi.forEach((v, i) => {
      const n = Math.floor(i / 72);
      expect(Math.abs(lrp0[i] * logits[n * 3 + targets[n]] - v)).toBeLessThanOrEqual(1e-12 * scale);
    });
  });

  it('every method gives a finite, input-shaped map (flat, wsquare and zbox have no oracle case)', () => {
    const graph = plainCnn(13);
    const input = randomArray(rng(14), 2 * 128, 1);
    for (const method of RELEVANCE_METHODS) {
      const { relevance, layers } = referenceRelevance(graph, input, 2, predicted(graph, input, 2), method, { low: -1, high: 1 });
      expect(relevance.length, method).toBe(input.length);
      expect(relevance.every(Number.isFinite), method).toBe(true);
      expect(layers[0].node, method).toBe(graph.input);
    }
    expect(() => referenceRelevance(graph, input, 2, [0, 0], 'no-such-method')).toThrow(/unknown relevance method/);
  });
});
