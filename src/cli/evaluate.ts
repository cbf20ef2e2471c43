import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { InputShapeError } from '../errors.js';
import { EVAL_METHODS, METRIC_GROUPS, evaluate as runEvaluation, type EvalMethod, type MetricGroup, type Progress } from '../eval/evaluate.js';
import { REPLACEMENTS, type Replacement } from '../eval/perturbation.js';
import { renderReportHtml } from '../eval/report-html.js';
import { parseNpy } from '../io/npy.js';
import { readImage } from '../image/decode.js';
import { modelInput, presetNamed, PRESETS } from '../image/preprocess.js';
import { imageFiles } from './image-files.js';
import { boundFlag, numberFlag, numberListFlag, stringFlag, UsageError, wholeFlag, type Values } from './args.js';
import { Model } from '../model.js';
import { readModelSource } from './model-source.js';



const DEFAULT_METHODS: EvalMethod[] = ['rlrp', 'rlrp-plus', 'epsilon', 'zplus', 'epsilon-plus-flat', 'gradient-x-input', 'random'];

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

/** `rlrp evaluate`: faithfulness, robustness and sanity metrics of explanation methods, as report.json and report.html. */
export async function evaluate(values: Values): Promise<void> {
  const data = stringFlag(values, 'data');
  if (data === undefined) throw new UsageError('evaluate needs --model and --data');
  const method = stringFlag(values, 'method');
  const methods = method === 'all' ? [...EVAL_METHODS] : list(method, 'method', EVAL_METHODS) ?? DEFAULT_METHODS;
  const metrics = list<MetricGroup>(stringFlag(values, 'metrics'), 'metrics', METRIC_GROUPS);
  const replacement = list<Replacement>(stringFlag(values, 'replacement'), 'replacement', REPLACEMENTS)?.[0];
  const score = list(stringFlag(values, 'score'), 'score', ['probability', 'logit'] as const)?.[0];
  const options = {
    patch: wholeFlag(values, 'patch', 1), steps: wholeFlag(values, 'steps', 1), draws: wholeFlag(values, 'draws', 1), randomizationSamples: wholeFlag(values, 'randomization-samples', 0),
    examples: wholeFlag(values, 'examples', 0), seed: wholeFlag(values, 'seed', 0), radii: numberListFlag(values, 'radii'),
  };
  const samples = wholeFlag(values, 'samples', 1);
  const labelsFile = stringFlag(values, 'labels');
  const labels = labelsFile === undefined ? undefined : await readLabels(labelsFile);
  const out = stringFlag(values, 'out') ?? 'report';
  const source = await readModelSource(values);
  const model = await Model.fromKeras(source.keras);
  try {
    const all = await readData(data, model.info.inputShape, stringFlag(values, 'preprocess'));
    const count = Math.min(all.count, samples ?? all.count);
    if (labels && labels.length < count) throw new InputShapeError(`--labels has ${labels.length} labels for ${count} samples`);
    const x = all.data.subarray(0, count * (all.data.length / all.count));
    // The box rules' input range: as given, else the data's.
    const bound = (name: string, pick: (a: number, b: number) => number) => boundFlag(values, name) ?? (methods.some((m) => m === 'zbox' || m === 'epsilon-gamma-box') ? x.reduce((a, b) => pick(a, b)) : undefined);
    const methodOptions = { epsilon: numberFlag(values, 'epsilon'), gamma: numberFlag(values, 'gamma'), low: bound('low', Math.min), high: bound('high', Math.max) };
    const last = { at: 0 };
    const started = performance.now();
    const { report, examples } = await runEvaluation(model, x, {
      methods, methodOptions, labels: labels?.slice(0, count), metrics, replacement, score, ...options,
      onProgress: (p) => progressLine(p, Boolean(process.stderr.isTTY), last),
    });
    const wallS = (performance.now() - started) / 1000;
    const title = stringFlag(values, 'title') ?? `rlrp evaluate: ${model.info.name}`;
    const json = { command: ['rlrp', 'evaluate', ...process.argv.slice(3)].join(' '), model_file: source.name, data_file: data, wall_s: wallS, ...report };
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
