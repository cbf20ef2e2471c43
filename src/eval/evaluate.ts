import { InputShapeError } from '../errors.js';
import { sizeOf } from '../graph/ir.js';
import { Model, type LayerRelevance } from '../model.js';
import { METHODS, ruleFor, type Method, type MethodOptions } from '../rules/index.js';
import { conservationErrors } from './conservation.js';
import { aopc, curveAuc, curveImages, imageShape, PatchGrid, REPLACEMENTS, replacementImage, stepCounts, type ImageShape, type Replacement } from './perturbation.js';
import { explanationSimilarity, layersTopDown, withRandomizedLayers } from './randomization.js';
import { countNonFinite, lipschitzEstimate, maxSensitivity, noisyCopies } from './robustness.js';
import { gaussian, seededRandom, summarize, type Summary } from './statistics.js';

/**
 * Runs every metric for every method over a data set and returns the report's data. All model
 * work is batched: the images of many perturbation steps (and many samples) go to the GPU as one
 * batch per chunk, with one read-back of the logits per chunk.
 */

/** The library's methods plus `random`: seeded Gaussian noise, a function of (seed, sample) only. */
export type EvalMethod = Method | 'random';
export const EVAL_METHODS: readonly EvalMethod[] = [...METHODS, 'random'];

export type MetricGroup = 'perturbation' | 'robustness' | 'conservation' | 'randomization';
export const METRIC_GROUPS: readonly MetricGroup[] = ['perturbation', 'robustness', 'conservation', 'randomization'];

export interface EvaluationOptions {
  methods: readonly EvalMethod[];
  /** Options passed to every method (epsilon, gamma, low/high for the box rules, ...). */
  methodOptions?: MethodOptions;
  /** True class per sample, explained and scored; without labels, the predicted class. */
  labels?: readonly number[];
  /** Metric groups to run (default: all). */
  metrics?: readonly MetricGroup[];
  /** Side of the square patches perturbed together (default: image side / 14, at least 1). */
  patch?: number;
  /** Perturbation steps from none to all patches (default 16). */
  steps?: number;
  replacement?: Replacement;
  /** Noise radii as fractions of the data's value range (default 0.01, 0.02, 0.05). */
  radii?: readonly number[];
  /** Noisy copies per radius and sample (default 4). */
  draws?: number;
  /** Samples in the randomisation check (default up to 8; 0 turns it off). */
  randomizationSamples?: number;
  /** The curves' score: the target's softmax probability (default) or its logit. */
  score?: 'probability' | 'logit';
  seed?: number;
  /** Samples whose input and relevance are kept for the report's heatmap grid (default 4). */
  examples?: number;
  onProgress?: (progress: Progress) => void;
}

export interface Progress {
  /** Sample evaluations done and planned (one per sample and method, plus the randomisation's). */
  done: number;
  total: number;
  stage: string;
  elapsedMs: number;
}

export interface MetricInfo {
  label: string;
  better: 'higher' | 'lower';
  description: string;
}

export interface MethodCurves {
  /** Fraction of patches perturbed at each step. */
  fractions: number[];
  /** Mean over samples. */
  morf: number[];
  lerf: number[];
  insertion: number[];
  per_sample: { morf: number[][]; lerf: number[][]; insertion: number[][] };
}

export interface EvaluationReport {
  config: Record<string, unknown>;
  samples: { count: number; labels: number[] | null; predicted: number[]; targets: number[]; accuracy: number | null };
  /** Method name to metric key to the mean over samples (null where no sample had a finite value). */
  methods: Record<string, Record<string, number | null>>;
  summary: Record<string, Record<string, Summary | null>>;
  per_sample: Record<string, Record<string, (number | null)[]>>;
  metric_info: Record<string, MetricInfo>;
  curves: Record<string, MethodCurves>;
  /** Per Keras layer, mean relative conservation errors (signed sum and L1). */
  layers: Record<string, { name: string; conservation_error: number | null; conservation_error_l1: number | null }[]>;
  randomization: { layers: string[]; samples: number; methods: Record<string, { spearman: (number | null)[]; ssim: (number | null)[] }> } | null;
}

/** Inputs and relevance of the first few samples, for the heatmap grid (not serialised). */
export interface Examples {
  image: ImageShape;
  inputs: Float32Array;
  count: number;
  relevance: Record<string, Float32Array>;
}

const METRIC_INFO: Record<string, MetricInfo> = {
  aopc_morf: { label: 'AOPC, most relevant first', better: 'higher', description: 'mean drop of the score as the most relevant patches are replaced first (Samek et al. 2017)' },
  aopc_lerf: { label: 'AOPC, least relevant first', better: 'lower', description: 'mean drop of the score as the least relevant patches are replaced first' },
  abpc: { label: 'Area between the curves (LeRF - MoRF)', better: 'higher', description: 'aopc_morf - aopc_lerf: how well the ranking separates relevant from irrelevant patches' },
  deletion_auc: { label: 'Deletion AUC', better: 'lower', description: 'area under the score as the most relevant patches are replaced (Petsiuk et al. 2018)' },
  insertion_auc: { label: 'Insertion AUC', better: 'higher', description: 'area under the score as the most relevant patches are put back into the replacement image' },
  non_finite: { label: 'Non-finite values', better: 'lower', description: 'not-a-number or infinite relevance values over all explanations of the sample (original and noisy copies)' },
  conservation_error: { label: 'Conservation error at the input (sum)', better: 'lower', description: '|sum R_input - sum R_output| / |sum R_output|' },
  conservation_error_l1: { label: 'Conservation error at the input (L1)', better: 'lower', description: '| |R_input|_1 - |R_output|_1 | / |R_output|_1 (what R-LRP conserves)' },
  randomization_spearman: { label: 'Randomisation: Spearman after all layers randomised', better: 'lower', description: 'rank correlation of |heatmap| with the trained model\'s once every layer is randomised (Adebayo et al. 2018)' },
  randomization_ssim: { label: 'Randomisation: SSIM after all layers randomised', better: 'lower', description: 'SSIM of the normalised |heatmap| with the trained model\'s once every layer is randomised' },
  explain_ms_per_sample: { label: 'Explanation time per sample (ms, wall)', better: 'lower', description: 'wall time of the batched explain calls per sample, first-use compilation excluded where possible' },
};

function robustnessInfo(radius: number): Record<string, MetricInfo> {
  return {
    [`max_sensitivity@${radius}`]: { label: `Max-sensitivity, radius ${radius}`, better: 'lower', description: `max ||E(x') - E(x)|| / ||E(x)|| over noisy copies x' with |x' - x|_inf <= ${radius} x the data range (Yeh et al. 2019)` },
    [`lipschitz@${radius}`]: { label: `Local Lipschitz estimate, radius ${radius}`, better: 'lower', description: `max ||E(x')/||E(x')|| - E(x)/||E(x)|| || / ||x' - x|| over the same noisy copies (Alvarez-Melis & Jaakkola 2018)` },
  };
}

/** Every metric's description, in the report's order: faithfulness, robustness, conservation, randomisation, runtime. */
function metricInfo(radii: readonly number[]): Record<string, MetricInfo> {
  const entries = Object.entries(METRIC_INFO);
  const robustness = Object.entries(Object.assign({}, ...radii.map(robustnessInfo)) as Record<string, MetricInfo>);
  const at = entries.findIndex(([k]) => k === 'non_finite');
  return Object.fromEntries([...entries.slice(0, at), ...robustness, ...entries.slice(at)]);
}

function checkOptions(model: Model, samples: number, options: EvaluationOptions): void {
  if (options.methods.length === 0) throw new InputShapeError('no methods to evaluate');
  for (const m of options.methods) {
    if (!(EVAL_METHODS as readonly string[]).includes(m)) throw new InputShapeError(`unknown method '${m}' (available: ${EVAL_METHODS.join(', ')})`);
    if (m !== 'random') ruleFor(m, options.methodOptions, model.graph); // bad method options fail before any GPU work
  }
  for (const g of options.metrics ?? []) if (!(METRIC_GROUPS as readonly string[]).includes(g)) throw new InputShapeError(`unknown metric group '${g}' (available: ${METRIC_GROUPS.join(', ')})`);
  if (options.replacement !== undefined && !(REPLACEMENTS as readonly string[]).includes(options.replacement)) throw new InputShapeError(`unknown replacement '${options.replacement}' (available: ${REPLACEMENTS.join(', ')})`);
  const classes = sizeOf(model.info.outputShape);
  if (options.labels) {
    if (options.labels.length !== samples) throw new InputShapeError(`${options.labels.length} labels for ${samples} samples`);
    options.labels.forEach((l, i) => { if (!Number.isInteger(l) || l < 0 || l >= classes) throw new InputShapeError(`label ${l} of sample ${i} is not a class index in [0, ${classes})`); });
  }
  for (const r of options.radii ?? []) if (!(Number.isFinite(r) && r > 0)) throw new InputShapeError(`noise radii must be positive numbers, got ${r}`);
  for (const [name, v] of [['draws', options.draws], ['randomizationSamples', options.randomizationSamples], ['examples', options.examples]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new InputShapeError(`${name} must be a non-negative integer, got ${v}`);
  }
  if (options.draws === 0) throw new InputShapeError('draws must be at least 1');
  if (options.score !== undefined && options.score !== 'probability' && options.score !== 'logit') throw new InputShapeError(`score must be 'probability' or 'logit', got '${String(options.score)}'`);
}

/** Per-chunk row counts: big enough to keep the GPU busy, small enough to stay within memory. */
function rowsPerChunk(perSample: number, bytes: number, most: number): number {
  return Math.max(1, Math.min(most, Math.floor(bytes / (perSample * 4))));
}

interface Explained { relevance: Float32Array; layers: LayerRelevance[] | null }

/** Explains rows in chunks; `sampleOf` names each row's sample (the random baseline's seed). */
class Explainer {
  private warm = { ms: 0, rows: 0 };
  private cold = { ms: 0, rows: 0 };
  private compiled = new Set<string>();

  constructor(private readonly model: Model, private readonly per: number, private readonly chunk: number, private readonly seed: number, private readonly methodOptions: MethodOptions) {}

  async explain(method: EvalMethod, x: Float32Array, targets: readonly number[], sampleOf: readonly number[], model = this.model): Promise<Explained> {
    const rows = targets.length;
    if (method === 'random') {
      const relevance = new Float32Array(rows * this.per);
      for (let r = 0; r < rows; r++) {
        const normal = gaussian(seededRandom(this.seed * 1000003 + sampleOf[r]));
        for (let i = 0; i < this.per; i++) relevance[r * this.per + i] = normal();
      }
      return { relevance, layers: null };
    }
    const relevance = new Float32Array(rows * this.per);
    let layers: LayerRelevance[] | null = null;
    for (let start = 0; start < rows; start += this.chunk) {
      const n = Math.min(this.chunk, rows - start);
      const key = `${method}:${n}:${model === this.model}`;
      const t0 = performance.now();
      const result = await model.explain(x.subarray(start * this.per, (start + n) * this.per), { ...this.methodOptions, method, target: Array.from(targets.slice(start, start + n)) });
      const bucket = this.compiled.has(key) ? this.warm : this.cold;
      this.compiled.add(key);
      bucket.ms += performance.now() - t0;
      bucket.rows += n;
      relevance.set(result.relevance, start * this.per);
      layers = layers ? layers.map((l, i) => ({ name: l.name, l1: [...l.l1, ...result.layers[i].l1], sum: [...l.sum, ...result.layers[i].sum] })) : result.layers;
    }
    return { relevance, layers };
  }

  /** Wall ms per explained row, from calls that reused a compiled plan when there were any. */
  msPerRow(): number | null {
    const b = this.warm.rows ? this.warm : this.cold;
    const ms = b.rows ? b.ms / b.rows : null;
    this.warm = { ms: 0, rows: 0 };
    this.cold = { ms: 0, rows: 0 };
    return ms;
  }
}

/** Scores images with batched forward passes: one read-back of the logits per chunk. */
async function scoreImages(model: Model, images: Float32Array, per: number, targets: readonly number[], chunk: number, score: 'probability' | 'logit'): Promise<number[]> {
  const out: number[] = [];
  for (let start = 0; start < targets.length; start += chunk) {
    const n = Math.min(chunk, targets.length - start);
    const { logits, classes } = await model.predict(images.subarray(start * per, (start + n) * per));
    for (let r = 0; r < n; r++) {
      const row = logits.subarray(r * classes, (r + 1) * classes);
      const t = targets[start + r];
      if (score === 'logit') { out.push(row[t]); continue; }
      const max = Math.max(...row);
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      out.push(Math.exp(row[t] - max) / sum);
    }
  }
  return out;
}

/** max - min of the data (1 for constant data): the unit of the noise radii. */
function valueRange(x: Float32Array): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return hi - lo || 1;
}

const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);
const mean = (rows: number[][]) => rows[0].map((_, k) => rows.reduce((a, r) => a + r[k], 0) / rows.length);

export async function evaluate(model: Model, x: Float32Array, options: EvaluationOptions): Promise<{ report: EvaluationReport; examples: Examples }> {
  const count = model.checkInput(x);
  checkOptions(model, count, options);
  const image = imageShape(model.info.inputShape);
  const per = sizeOf(model.info.inputShape);
  const groups = new Set(options.metrics ?? METRIC_GROUPS);
  const grid = new PatchGrid(image, options.patch ?? Math.max(1, Math.round(Math.min(image.height, image.width) / 14)));
  const counts = stepCounts(grid.count, options.steps ?? 16);
  const replacement = options.replacement ?? 'mean';
  const radii = [...(options.radii ?? [0.01, 0.02, 0.05])];
  const draws = options.draws ?? 4;
  const seed = options.seed ?? 0;
  const score = options.score ?? 'probability';
  const randomizationSamples = groups.has('randomization') ? Math.min(count, options.randomizationSamples ?? 8) : 0;
  const exampleCount = Math.min(count, options.examples ?? 4);
  const methods = [...new Set(options.methods)];
  const methodOptions = options.methodOptions ?? {};
  const predictChunk = rowsPerChunk(per, 32 << 20, 256);
  const explainChunk = rowsPerChunk(per, 8 << 20, 64);
  const explainer = new Explainer(model, per, explainChunk, seed, methodOptions);
  const range = valueRange(x);
  const outputLayer = model.graph.nodes[model.graph.output].kerasName;
  const started = performance.now();
  const stagesTopDown = randomizationSamples > 0 ? layersTopDown(model.keras) : [];
  const total = methods.length * count + stagesTopDown.length * methods.length * randomizationSamples;
  let done = 0;
  const progress = (stage: string, add: number) => {
    done += add;
    options.onProgress?.({ done, total, stage, elapsedMs: performance.now() - started });
  };

  // The targets: the labels, or the predicted classes (batched forward passes).
  const sampleIds = Array.from({ length: count }, (_, i) => i);
  const predicted: number[] = [];
  for (let start = 0; start < count; start += predictChunk) {
    const { logits, classes, batch } = await model.predict(x.subarray(start * per, Math.min(count, start + predictChunk) * per));
    for (let n = 0; n < batch; n++) {
      const row = logits.subarray(n * classes, (n + 1) * classes);
      predicted.push(row.indexOf(Math.max(...row)));
    }
  }
  const targets = options.labels ? [...options.labels] : predicted;

  const report: EvaluationReport = {
    config: {
      samples: count, input_shape: model.info.inputShape, methods, method_options: methodOptions, metrics: [...groups], target: options.labels ? 'label' : 'predicted class',
      score, patch: grid.patch, patches: grid.count, steps: counts.length - 1, replacement, radii, radii_units: `fractions of the data's value range (${range})`,
      draws, randomization_samples: randomizationSamples, seed, adapter: model.info.adapter, model: model.info.name,
    },
    samples: {
      count, labels: options.labels ? [...options.labels] : null, predicted, targets,
      accuracy: options.labels ? predicted.filter((p, i) => p === options.labels![i]).length / count : null,
    },
    methods: {}, summary: {}, per_sample: {}, metric_info: metricInfo(radii), curves: {}, layers: {}, randomization: null,
  };
  const examples: Examples = { image, inputs: x.slice(0, exampleCount * per), count: exampleCount, relevance: {} };
  const originals = new Map<string, Float32Array>();
  // Samples per group: the perturbation images or noisy copies of a group stay within ~64 MiB.
  const imagesPerSample = Math.max(groups.has('perturbation') ? 3 * counts.length : 0, groups.has('robustness') ? radii.length * draws : 0, 1);
  const group = Math.max(1, Math.floor((64 << 20) / (imagesPerSample * per * 4)));

  for (const method of methods) {
    const values: Record<string, number[]> = {};
    const put = (key: string, n: number, v: number) => { (values[key] ??= new Array<number>(count).fill(NaN))[n] = v; };
    const explained = await explainer.explain(method, x, targets, sampleIds);
    originals.set(method, explained.relevance);
    examples.relevance[method] = explained.relevance.slice(0, exampleCount * per);
    const nonFinite = sampleIds.map((n) => countNonFinite(explained.relevance.subarray(n * per, (n + 1) * per)));
    const curves = { morf: [] as number[][], lerf: [] as number[][], insertion: [] as number[][] };

    for (let g0 = 0; g0 < count; g0 += group) {
      const ids = sampleIds.slice(g0, Math.min(count, g0 + group));
      if (groups.has('perturbation')) {
        const steps = counts.length;
        const images = new Float32Array(ids.length * 3 * steps * per);
        const rowTargets: number[] = [];
        ids.forEach((n, j) => {
          const xn = x.subarray(n * per, (n + 1) * per);
          const fill = replacementImage(xn, image, replacement, seededRandom(seed * 7777 + n));
          const order = grid.mostRelevantFirst(explained.relevance.subarray(n * per, (n + 1) * per));
          const lerf = [...order].reverse();
          images.set(curveImages(xn, fill, grid, order, counts), (j * 3) * steps * per);
          images.set(curveImages(xn, fill, grid, lerf, counts), (j * 3 + 1) * steps * per);
          images.set(curveImages(fill, xn, grid, order, counts), (j * 3 + 2) * steps * per);
          for (let k = 0; k < 3 * steps; k++) rowTargets.push(targets[n]);
        });
        const scores = await scoreImages(model, images, per, rowTargets, predictChunk, score);
        ids.forEach((n, j) => {
          const [morf, lerf, insertion] = [0, 1, 2].map((c) => scores.slice((j * 3 + c) * steps, (j * 3 + c + 1) * steps));
          curves.morf.push(morf);
          curves.lerf.push(lerf);
          curves.insertion.push(insertion);
          put('aopc_morf', n, aopc(morf));
          put('aopc_lerf', n, aopc(lerf));
          put('abpc', n, aopc(morf) - aopc(lerf));
          put('deletion_auc', n, curveAuc(counts, morf));
          put('insertion_auc', n, curveAuc(counts, insertion));
        });
      }
      if (groups.has('robustness')) {
        const copies = radii.length * draws;
        const noisy = new Float32Array(ids.length * copies * per);
        ids.forEach((n, j) => noisy.set(noisyCopies(x.subarray(n * per, (n + 1) * per), radii.map((r) => r * range), draws, seededRandom(seed * 31337 + n)), j * copies * per));
        const rowSamples = ids.flatMap((n) => new Array<number>(copies).fill(n));
        const { relevance } = await explainer.explain(method, noisy, rowSamples.map((n) => targets[n]), rowSamples);
        ids.forEach((n, j) => {
          const original = explained.relevance.subarray(n * per, (n + 1) * per);
          nonFinite[n] += countNonFinite(relevance.subarray(j * copies * per, (j + 1) * copies * per));
          radii.forEach((r, i) => {
            const rows = Array.from({ length: draws }, (_, d) => (j * copies + i * draws + d) * per);
            const maps = rows.map((o) => relevance.subarray(o, o + per));
            put(`max_sensitivity@${r}`, n, maxSensitivity(original, maps));
            put(`lipschitz@${r}`, n, lipschitzEstimate(original, maps, x.subarray(n * per, (n + 1) * per), rows.map((o) => noisy.subarray(o, o + per))));
          });
        });
      }
      progress(`${method}`, ids.length);
    }
    nonFinite.forEach((v, n) => put('non_finite', n, v));
    if (groups.has('conservation') && explained.layers) {
      const errors = conservationErrors(explained.layers, outputLayer);
      const input = errors.find((e) => e.name === model.graph.nodes[model.graph.input].kerasName) ?? errors[0];
      sampleIds.forEach((n) => { put('conservation_error', n, input.sum[n]); put('conservation_error_l1', n, input.l1[n]); });
      report.layers[method] = errors.map((e) => ({ name: e.name, conservation_error: summarize(e.sum)?.mean ?? null, conservation_error_l1: summarize(e.l1)?.mean ?? null }));
    }
    if (groups.has('perturbation')) {
      report.curves[method] = { fractions: counts.map((c) => c / grid.count), morf: mean(curves.morf), lerf: mean(curves.lerf), insertion: mean(curves.insertion), per_sample: curves };
    }
    record(report, method, values);
    const ms = explainer.msPerRow();
    if (ms !== null) record(report, method, { explain_ms_per_sample: [ms] }); // one figure per method
  }

  if (randomizationSamples > 0 && stagesTopDown.length > 0) {
    const ids = sampleIds.slice(0, randomizationSamples);
    const xs = x.subarray(0, randomizationSamples * per);
    const similarity: Record<string, { spearman: number[][]; ssim: number[][] }> = Object.fromEntries(methods.map((m) => [m, { spearman: [], ssim: [] }]));
    for (let k = 1; k <= stagesTopDown.length; k++) {
      const randomized = await Model.fromKeras(withRandomizedLayers(model.keras, stagesTopDown.slice(0, k), seed), { gpu: model.gpu });
      try {
        for (const method of methods) {
          const { relevance } = await explainer.explain(method, xs, ids.map((n) => targets[n]), ids, randomized);
          const original = originals.get(method)!;
          const s = ids.map((n) => explanationSimilarity(original.subarray(n * per, (n + 1) * per), relevance.subarray(n * per, (n + 1) * per), image));
          similarity[method].spearman.push(s.map((v) => v.spearman));
          similarity[method].ssim.push(s.map((v) => v.ssim));
          progress(`randomisation ${k}/${stagesTopDown.length} (${method})`, ids.length);
        }
      } finally {
        randomized.destroy();
      }
    }
    report.randomization = {
      layers: stagesTopDown, samples: randomizationSamples,
      methods: Object.fromEntries(methods.map((m) => [m, {
        spearman: similarity[m].spearman.map((row) => finiteOrNull(summarize(row)?.mean ?? NaN)),
        ssim: similarity[m].ssim.map((row) => finiteOrNull(summarize(row)?.mean ?? NaN)),
      }])),
    };
    for (const m of methods) {
      const last = stagesTopDown.length - 1;
      record(report, m, { randomization_spearman: similarity[m].spearman[last], randomization_ssim: similarity[m].ssim[last] });
    }
  }
  return { report, examples };
}

/** Adds per-sample values of some metrics to the report, with their means and intervals. */
function record(report: EvaluationReport, method: string, values: Record<string, number[]>): void {
  const means = (report.methods[method] ??= {});
  const summary = (report.summary[method] ??= {});
  const perSample = (report.per_sample[method] ??= {});
  for (const [key, list] of Object.entries(values)) {
    const s = summarize(list);
    means[key] = s?.mean ?? null;
    summary[key] = s;
    perSample[key] = list.map(finiteOrNull);
  }
}
