import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';
import { InputShapeError } from '../errors.js';
import { EVAL_METHODS, METRIC_GROUPS, evaluate, type EvalMethod, type MetricGroup, type Progress } from '../eval/evaluate.js';
import { REPLACEMENTS, type Replacement } from '../eval/perturbation.js';
import { renderReportHtml } from '../eval/report-html.js';
import { parseNpy } from '../io/npy.js';
import { readImage } from '../image/decode.js';
import { modelInput, presetNamed, PRESETS } from '../image/preprocess.js';
import { imageFiles } from './image-files.js';
import { Model } from '../model.js';

export const EVALUATE_USAGE = `usage:
  rlrp evaluate --model <file> --data <x.npy|folder> [--preprocess <preset>] [--labels <labels.json>] [--method m1,m2,...] [--out report/]
                [--samples N] [--metrics perturbation,robustness,conservation,randomization]
                [--patch P] [--steps S] [--replacement mean|zero|blur|uniform] [--score probability|logit]
                [--radii 0.01,0.02,0.05] [--draws D] [--randomization-samples K] [--examples E] [--seed N]
                [--epsilon E] [--gamma G] [--low L --high H] [--config <arch.json>] [--title T]

  --data     float32 .npy, NHWC, batch first, preprocessed as the model expects; or a folder of PNG/JPEG
             images (sorted by name; --labels then follow that order), resized to the model's input
  --preprocess  for an image folder: caffe, tf, torch, unit or raw (as keras.applications' preprocess_input)
  --labels   the true class of each sample: a JSON array of class indices (or an object with "labels");
             the classes explained and scored (without it: each sample's predicted class)
  --method   comma-separated (default rlrp,rlrp-plus,epsilon,zplus,epsilon-plus-flat,gradient-x-input,random);
             'all', or any of: ${EVAL_METHODS.join(', ')}
             (random: seeded Gaussian noise, a baseline that ignores input and model)
  --samples  evaluate only the first N samples
  --metrics  metric groups to run (default all)
  --patch    side of the square patches perturbed together (default image side / 14)
  --steps    perturbation steps from no patch to all patches (default 16)
  --replacement  what a perturbed patch becomes (default mean: the image's channel means)
  --radii    input noise radii for the robustness metrics, as fractions of the data's value range
  --draws    noisy copies per radius and sample (default 4)
  --randomization-samples  samples in the cascading randomisation check (default 8; 0: off)
  --examples samples shown in the report's heatmap grid (default 4)
  --low, --high  input range for zbox and epsilon-gamma-box (default: the data's minimum and maximum)
  --out      folder for report.json and report.html (default report/)`;

const DEFAULT_METHODS: EvalMethod[] = ['rlrp', 'rlrp-plus', 'epsilon', 'zplus', 'epsilon-plus-flat', 'gradient-x-input', 'random'];

class UsageError extends Error {}

function integer(values: Record<string, unknown>, name: string, min: number): number | undefined {
  const text = values[name];
  if (typeof text !== 'string') return undefined;
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || v < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${text}'`);
  return v;
}

function numbers(values: Record<string, unknown>, name: string): number[] | undefined {
  const text = values[name];
  if (typeof text !== 'string') return undefined;
  const list = text.split(',').map((t) => Number(t.trim()));
  if (list.some((v) => !Number.isFinite(v))) throw new UsageError(`--${name} must be comma-separated numbers, got '${text}'`);
  return list;
}

function list<T extends string>(text: string | undefined, name: string, allowed: readonly T[]): T[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((t) => t.trim()).filter(Boolean);
  const bad = items.filter((t) => !(allowed as readonly string[]).includes(t));
  if (bad.length || items.length === 0) throw new UsageError(`--${name}: unknown ${bad.map((b) => `'${b}'`).join(', ') || 'empty list'} (available: ${allowed.join(', ')})`);
  return items as T[];
}

async function readLabels(path: string): Promise<number[]> {
  const text = await readFile(path, 'utf8').catch((e: Error) => { throw new UsageError(`could not read --labels '${path}': ${e.message}`); });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--labels '${path}' is not JSON: ${(e as Error).message}`);
  }
  const labels = Array.isArray(parsed) ? parsed : (parsed as { labels?: unknown })?.labels;
  if (!Array.isArray(labels) || labels.some((l) => !Number.isInteger(l))) throw new UsageError(`--labels '${path}' must hold a JSON array of class indices (or an object with a "labels" array)`);
  return labels as number[];
}

/** The model inputs of a folder's PNG and JPEG images (sorted by name), resized and preprocessed as Keras does. */
async function readImageFolder(path: string, perShape: number[], preprocess: string | undefined): Promise<{ data: Float32Array; count: number }> {
  if (preprocess === undefined) throw new UsageError(`--data '${path}' is a folder of images: say how the model expects them with --preprocess <${PRESETS.join('|')}>`);
  const preset = presetNamed(preprocess);
  const { files } = imageFiles([path]);
  const per = perShape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(files.length * per);
  for (const [i, file] of files.entries()) data.set(modelInput(await readImage(file.path), perShape, { preset, name: file.relative }), i * per);
  return { data, count: files.length };
}

async function readData(path: string, perShape: number[], preprocess: string | undefined): Promise<{ data: Float32Array; count: number }> {
  const info = await stat(path).catch((e: Error) => { throw new InputShapeError(`could not read --data '${path}': ${e.message}`); });
  if (info.isDirectory()) return readImageFolder(path, perShape, preprocess);
  const array = parseNpy(await readFile(path));
  const shape = array.shape.length === perShape.length ? [1, ...array.shape] : array.shape;
  if (shape.length !== perShape.length + 1 || shape.slice(1).some((d, i) => d !== perShape[i])) {
    throw new InputShapeError(`--data '${path}' has shape [${array.shape.join(', ')}]; the model takes [batch, ${perShape.join(', ')}]`);
  }
  return { data: array.data, count: shape[0] };
}

/** One status line on stderr: samples per second and time left. */
function progressLine(p: Progress, interactive: boolean, last: { at: number }): void {
  const now = performance.now();
  if (!interactive && p.done < p.total && now - last.at < 10_000) return;
  last.at = now;
  const rate = p.done / Math.max(1e-3, p.elapsedMs / 1000);
  const left = rate > 0 ? (p.total - p.done) / rate : NaN;
  const line = `evaluate: ${p.done}/${p.total} sample evaluations, ${rate.toFixed(2)} samples/s, ${Number.isFinite(left) ? `${Math.round(left)} s left` : 'estimating'} (${p.stage})`;
  process.stderr.write(interactive ? `\r${line.padEnd(100)}${p.done === p.total ? '\n' : ''}` : `${line}\n`);
}

async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, config: { type: 'string' }, data: { type: 'string' }, labels: { type: 'string' }, method: { type: 'string' }, out: { type: 'string' },
      samples: { type: 'string' }, metrics: { type: 'string' }, patch: { type: 'string' }, steps: { type: 'string' }, replacement: { type: 'string' }, score: { type: 'string' },
      radii: { type: 'string' }, draws: { type: 'string' }, 'randomization-samples': { type: 'string' }, examples: { type: 'string' }, seed: { type: 'string' },
      epsilon: { type: 'string' }, gamma: { type: 'string' }, low: { type: 'string' }, high: { type: 'string' }, title: { type: 'string' }, preprocess: { type: 'string' },
    },
    strict: true,
  });
  if (!values.model || !values.data) throw new UsageError('evaluate needs --model and --data');
  const methods = values.method === 'all' ? [...EVAL_METHODS] : list(values.method, 'method', EVAL_METHODS) ?? DEFAULT_METHODS;
  const metrics = list<MetricGroup>(values.metrics, 'metrics', METRIC_GROUPS);
  const replacement = list<Replacement>(values.replacement, 'replacement', REPLACEMENTS)?.[0];
  const score = list(values.score, 'score', ['probability', 'logit'] as const)?.[0];
  const [epsilon] = numbers(values, 'epsilon') ?? [];
  const [gamma] = numbers(values, 'gamma') ?? [];
  const options = {
    patch: integer(values, 'patch', 1), steps: integer(values, 'steps', 1), draws: integer(values, 'draws', 1), randomizationSamples: integer(values, 'randomization-samples', 0),
    examples: integer(values, 'examples', 0), seed: integer(values, 'seed', 0), radii: numbers(values, 'radii'),
  };
  const samples = integer(values, 'samples', 1);
  const labels = values.labels === undefined ? undefined : await readLabels(values.labels);
  const out = values.out ?? 'report';
  const model = await Model.load(values.model, { config: values.config });
  try {
    const all = await readData(values.data, model.info.inputShape, values.preprocess);
    const count = Math.min(all.count, samples ?? all.count);
    if (labels && labels.length < count) throw new InputShapeError(`--labels has ${labels.length} labels for ${count} samples`);
    const x = all.data.subarray(0, count * (all.data.length / all.count));
    const bound = (v: number[] | undefined, pick: (a: number, b: number) => number) => {
      if (v) return v.length === 1 ? v[0] : v;
      return methods.some((m) => m === 'zbox' || m === 'epsilon-gamma-box') ? x.reduce((a, b) => pick(a, b)) : undefined;
    };
    const methodOptions = { epsilon, gamma, low: bound(numbers(values, 'low'), Math.min), high: bound(numbers(values, 'high'), Math.max) };
    const last = { at: 0 };
    const started = performance.now();
    const { report, examples } = await evaluate(model, x, {
      methods, methodOptions, labels: labels?.slice(0, count), metrics, replacement, score, ...options,
      onProgress: (p) => progressLine(p, Boolean(process.stderr.isTTY), last),
    });
    const wallS = (performance.now() - started) / 1000;
    const title = values.title ?? `rlrp evaluate: ${model.info.name}`;
    const json = { command: ['rlrp', 'evaluate', ...args].join(' '), model_file: values.model, data_file: values.data, wall_s: wallS, ...report };
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'report.json'), `${JSON.stringify(json, null, 1)}\n`);
    await writeFile(join(out, 'report.html'), renderReportHtml(report, examples, (raw) => deflateSync(raw), title));
    const keys = ['aopc_morf', 'aopc_lerf', 'insertion_auc', `max_sensitivity@${report.config.radii && (report.config.radii as number[])[0]}`, 'non_finite'];
    console.log(`method`.padEnd(20) + keys.map((k) => k.padStart(22)).join(''));
    for (const [m, v] of Object.entries(report.methods)) console.log(m.padEnd(20) + keys.map((k) => (v[k] === null || v[k] === undefined ? '-' : v[k]!.toPrecision(4)).padStart(22)).join(''));
    console.log(`wrote ${join(out, 'report.json')} and ${join(out, 'report.html')} (${count} samples, ${wallS.toFixed(1)} s)`);
  } finally {
    model.destroy();
  }
}

/** `rlrp evaluate`: faithfulness and robustness metrics of explanation methods; returns the exit code. */
export async function evaluateCommand(args: string[]): Promise<number> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  if (args.includes('--help') || args.includes('-h')) {
    console.log(EVALUATE_USAGE);
    return 0;
  }
  try {
    await run(args);
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    const usage = e instanceof UsageError || Boolean(err.code?.startsWith('ERR_PARSE_ARGS'));
    process.stderr.write(`rlrp evaluate: ${usage ? '' : `${err.name}: `}${err.message}\n${usage ? `${EVALUATE_USAGE}\n` : ''}`);
    return usage ? 2 : 1;
  }
}
