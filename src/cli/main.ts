#!/usr/bin/env node
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';
import { heatmap } from '../image/heatmap.js';
import { encodePng } from '../image/png.js';
import { buildGraph } from '../graph/build.js';
import { SUPPORTED_LAYERS, canonicalClass } from '../graph/build.js';
import { readKerasModel, type KerasModel } from '../keras/load.js';
import { formatNpy, parseNpy } from '../io/npy.js';
import { Model } from '../model.js';
import { InputShapeError } from '../errors.js';
import { evaluateCommand } from './evaluate.js';
import type { LayerRuleName, Method } from '../rules/index.js';

const USAGE = `usage:
  rlrp predict --model <file> --input <x.npy> [--config <arch.json>] [--labels <names.json>] [--top K] [--json]
  rlrp explain --model <file> --input <x.npy> [--method <name>] [--skip product|ratio]
               [--epsilon E] [--gamma G] [--alpha A --beta B] [--low L --high H] [--rules layer=rule,...]
               [--target N | N1,N2,...] [--layer <keras name>] [--out-npy rel.npy] [--out-png heat.png]
               [--config <arch.json>] [--json]
  rlrp inspect --model <file> [--config <arch.json>] [--json]
  rlrp evaluate --model <file> --data <x.npy> --labels <labels.json> [--method m1,m2,...] [--out report/]   (rlrp evaluate --help)

  --model   Keras model: legacy .h5, Keras 3 .keras, or a weights-only .h5 / .weights.h5 with --config
  --config  architecture JSON (model.to_json()) for weights-only files
  --input   float32 .npy, NHWC, batch first (a single sample without the batch axis is accepted)
  --labels  class names: a JSON array, or an object with a "class_names" array
  --method  relevance method (default rlrp: R-LRP as defined in the project's spec, reconstructed
            from the paper's abstract; rlrp-plus: the project's variant with positive contributions;
            classical (zennit's definitions): lrp0, epsilon, zplus, alpha-beta, gamma, flat, wsquare,
            zbox, epsilon-plus, epsilon-alpha2-beta1, epsilon-plus-flat, epsilon-gamma-box;
            baselines: gradient, gradient-x-input)
  --skip    how R-LRP splits relevance at Add (residual) layers: product (default) or ratio
  --epsilon, --gamma, --alpha, --beta   rule parameters (defaults 1e-6, 0.25, 2, 1; alpha - beta = 1)
  --low, --high   the model input's value range for zbox and epsilon-gamma-box (one number, or one
            per input channel, comma-separated)
  --rules   per-layer rules by Keras layer name, e.g. conv2d=zplus,dense_1=epsilon
  --target  class to explain: one for all samples or one per sample (default: the predicted class)
  --layer   report the relevance at this Keras layer's output instead of at the input
  --out-npy write the relevance (float32, the input's shape) to this .npy file
  --out-png write a heatmap of the first sample (channels summed; red positive, blue negative)
  --json    machine-readable output on stdout`;

class UsageError extends Error {}

function softmax(row: Float32Array): number[] {
  const max = Math.max(...row);
  const e = Array.from(row, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

async function classNames(path: string): Promise<string[]> {
  const parsed: unknown = JSON.parse(await readFile(path, 'utf8').catch((e: Error) => { throw new UsageError(`could not read --labels '${path}': ${e.message}`); }));
  const list = Array.isArray(parsed) ? parsed : (parsed as { class_names?: unknown }).class_names;
  if (!Array.isArray(list)) throw new UsageError(`--labels '${path}' must hold a JSON array of class names or an object with "class_names"`);
  return list.map(String);
}

async function predict(values: Record<string, string | boolean | undefined>): Promise<void> {
  if (typeof values.model !== 'string' || typeof values.input !== 'string') throw new UsageError('predict needs --model and --input');
  const top = values.top === undefined ? 5 : Number(values.top);
  if (!Number.isInteger(top) || top < 1) throw new UsageError(`--top must be a positive integer, got '${String(values.top)}'`);
  const names = typeof values.labels === 'string' ? await classNames(values.labels) : undefined;
  const model = await Model.load(values.model, { config: values.config as string | undefined });
  try {
    const { data, shape } = await readInput(values.input, model);
    const { logits, batch, classes } = await model.predict(data, shape);
    const rows = Array.from({ length: batch }, (_, i) => logits.subarray(i * classes, (i + 1) * classes));
    const tops = rows.map((row) => {
      const probs = softmax(row);
      return probs.map((p, c) => ({ class: c, ...(names ? { name: names[c] ?? String(c) } : {}), score: p, logit: row[c] }))
        .sort((a, b) => b.score - a.score).slice(0, Math.min(top, classes));
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ logits: rows.map((r) => Array.from(r)), top: tops, adapter: model.info.adapter, model: model.info.name, input_shape: shape })}\n`);
    } else {
      console.log(`model ${model.info.name} (${model.keras.format}) on ${model.info.adapter}`);
      tops.forEach((t, i) => console.log(`sample ${i}: ${t.map((e) => `class ${e.class}${e.name ? ` '${e.name}'` : ''} ${(e.score * 100).toFixed(2)}% (logit ${e.logit.toFixed(4)})`).join(', ')}`));
    }
  } finally {
    model.destroy();
  }
}

function parseTargets(text: string | undefined): number | number[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((t) => t.trim());
  if (list.some((t) => !/^\d+$/.test(t))) throw new UsageError(`--target must be a class index or a comma-separated list of them, got '${text}'`);
  return list.length === 1 ? Number(list[0]) : list.map(Number);
}

async function readInput(path: string, model: Model): Promise<{ data: Float32Array; shape: number[] }> {
  const array = parseNpy(await readFile(path).catch((e: Error) => { throw new InputShapeError(`could not read input '${path}': ${e.message}`); }));
  const per = model.info.inputShape;
  return { data: array.data, shape: array.shape.length === per.length ? [1, ...array.shape] : array.shape };
}

function numberFlag(values: Record<string, string | boolean | undefined>, name: string): number | undefined {
  const text = values[name];
  if (typeof text !== 'string') return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got '${text}'`);
  return value;
}

/** A number, or a comma-separated list (one per input channel). */
function boundFlag(values: Record<string, string | boolean | undefined>, name: string): number | number[] | undefined {
  const text = values[name];
  if (typeof text !== 'string') return undefined;
  const list = text.split(',').map((t) => Number(t));
  if (list.some((v) => !Number.isFinite(v))) throw new UsageError(`--${name} must be a number or comma-separated numbers, got '${text}'`);
  return list.length === 1 ? list[0] : list;
}

function rulesFlag(text: string | undefined): Record<string, LayerRuleName> | undefined {
  if (text === undefined) return undefined;
  const entries = text.split(',').map((pair) => pair.split('='));
  if (entries.some((e) => e.length !== 2 || !e[0] || !e[1])) throw new UsageError(`--rules must look like layer=rule,layer2=rule, got '${text}'`);
  return Object.fromEntries(entries.map(([layer, rule]) => [layer.trim(), rule.trim() as LayerRuleName]));
}

async function explain(values: Record<string, string | boolean | undefined>): Promise<void> {
  if (typeof values.model !== 'string' || typeof values.input !== 'string') throw new UsageError('explain needs --model and --input');
  const target = parseTargets(values.target as string | undefined);
  const method = (values.method as string | undefined) ?? 'rlrp';
  const skip = values.skip as 'product' | 'ratio' | undefined;
  const parameters = {
    epsilon: numberFlag(values, 'epsilon'), gamma: numberFlag(values, 'gamma'), alpha: numberFlag(values, 'alpha'), beta: numberFlag(values, 'beta'),
    low: boundFlag(values, 'low'), high: boundFlag(values, 'high'), rules: rulesFlag(values.rules as string | undefined),
  };
  const t0 = performance.now();
  const model = await Model.load(values.model, { config: values.config as string | undefined });
  try {
    const loadMs = performance.now() - t0;
    const { data, shape } = await readInput(values.input, model);
    const t1 = performance.now();
    const result = await model.explain(data, { method: method as Method, skip, target, shape, layer: values.layer as string | undefined, ...parameters });
    const explainMs = performance.now() - t1;
    if (typeof values['out-npy'] === 'string') await writeFile(values['out-npy'], formatNpy({ shape: result.shape, data: result.relevance }));
    if (typeof values['out-png'] === 'string') {
      const [h, w, c] = result.shape.length === 4 ? result.shape.slice(1) : [1, result.shape.length > 1 ? result.shape[result.shape.length - 1] : 1, 1];
      const scale = Math.max(1, Math.floor(256 / Math.max(h, w)));
      await writeFile(values['out-png'], encodePng(heatmap(result.relevance, h, w, c), (raw) => deflateSync(raw), scale));
    }
    const classes = result.logits.length / result.batch;
    const logits = Array.from({ length: result.batch }, (_, i) => Array.from(result.logits.subarray(i * classes, (i + 1) * classes)));
    if (values.json) {
      process.stdout.write(`${JSON.stringify({
        logits, target: result.targets, method: result.method, adapter: model.info.adapter,
        layers: result.layers.map((l) => ({ name: l.name, l1: l.l1, sum: l.sum })),
        relevance_shape: result.shape, out_npy: values['out-npy'] ?? null, out_png: values['out-png'] ?? null,
        timings: { load_ms: loadMs, explain_ms: explainMs, forward_ms: result.timings?.forwardMs ?? null, relevance_ms: result.timings?.relevanceMs ?? null },
      })}\n`);
    } else {
      console.log(`model ${model.info.name} on ${model.info.adapter}; method ${result.method}`);
      const per = result.relevance.length / result.batch;
      const where = values.layer ? `layer '${values.layer}'` : 'input';
      for (let n = 0; n < result.batch; n++) {
        let sum = 0;
        let l1 = 0;
        for (let i = n * per; i < (n + 1) * per; i++) { sum += result.relevance[i]; l1 += Math.abs(result.relevance[i]); }
        console.log(`sample ${n}: target class ${result.targets[n]} (logit ${logits[n][result.targets[n]].toFixed(4)}), ${where} relevance sum ${sum.toFixed(4)}, L1 ${l1.toFixed(4)}`);
      }
      for (const key of ['out-npy', 'out-png']) if (values[key]) console.log(`wrote ${values[key]}`);
      const gpuTime = result.timings ? `; on the adapter: forward ${result.timings.forwardMs.toFixed(1)} ms, relevance ${result.timings.relevanceMs.toFixed(1)} ms` : '';
      console.log(`load ${loadMs.toFixed(0)} ms, explain ${explainMs.toFixed(0)} ms (including compilation on first use)${gpuTime}`);
    }
  } finally {
    model.destroy();
  }
}

interface LayerRow { name: string; className: string; outputShape: string; params: number; supported: boolean }

function layerTable(keras: KerasModel): { rows: LayerRow[]; problem?: string } {
  let shapes = new Map<string, string>();
  let problem: string | undefined;
  try {
    const graph = buildGraph(keras);
    shapes = new Map([...graph.layerOutputs].map(([name, id]) => [name, `(None, ${graph.nodes[id].shape.join(', ')})`]));
  } catch (e) {
    problem = (e as Error).message;
  }
  const rows = keras.config.layers.map((layer) => {
    const vars = keras.weights.get(layer.name);
    const params = vars ? [...vars.entries()].filter(([role]) => role !== 'count').reduce((a, [, t]) => a + t.data.length, 0) : 0;
    return { name: layer.name, className: layer.className, outputShape: shapes.get(layer.name) ?? '?', params, supported: SUPPORTED_LAYERS.has(canonicalClass(layer.className)) };
  });
  return { rows, problem };
}

async function inspect(values: Record<string, string | boolean | undefined>): Promise<void> {
  if (typeof values.model !== 'string') throw new UsageError('inspect needs --model');
  const keras = await readKerasModel(values.model, { config: values.config as string | undefined });
  const { rows, problem } = layerTable(keras);
  const unsupported = rows.filter((r) => !r.supported);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ model: keras.config.name, class: keras.config.className, format: keras.format, keras_version: keras.kerasVersion, layers: rows, params: rows.reduce((a, r) => a + r.params, 0), supported: !problem, problem })}\n`);
    return;
  }
  console.log(`${keras.config.name}: ${keras.config.className}, ${keras.format}${keras.kerasVersion ? `, Keras ${keras.kerasVersion}` : ''}`);
  const header = ['layer', 'class', 'output shape', 'params', 'supported'];
  const table = [header, ...rows.map((r) => [r.name, r.className, r.outputShape, String(r.params), r.supported ? 'yes' : 'NO'])];
  const widths = header.map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const row of table) console.log(row.map((cell, c) => (c === 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd());
  console.log(`total params: ${rows.reduce((a, r) => a + r.params, 0)}`);
  if (unsupported.length) console.log(`unsupported layers: ${unsupported.map((r) => `${r.name} (${r.className})`).join(', ')}`);
  console.log(problem ? `cannot run: ${problem}` : 'all layers supported');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'evaluate') return evaluateCommand(rest);
  const { values } = parseArgs({
    args: rest,
    options: {
      model: { type: 'string' }, input: { type: 'string' }, config: { type: 'string' }, labels: { type: 'string' }, json: { type: 'boolean' }, top: { type: 'string' },
      method: { type: 'string' }, skip: { type: 'string' }, target: { type: 'string' }, 'out-npy': { type: 'string' }, 'out-png': { type: 'string' }, layer: { type: 'string' },
      epsilon: { type: 'string' }, gamma: { type: 'string' }, alpha: { type: 'string' }, beta: { type: 'string' }, low: { type: 'string' }, high: { type: 'string' }, rules: { type: 'string' },
    },
    strict: true,
  });
  if (command === 'predict') await predict(values);
  else if (command === 'inspect') await inspect(values);
  else if (command === 'explain') await explain(values);
  else throw new UsageError(`unknown command '${command}'`);
  return 0;
}

process.env.XDG_RUNTIME_DIR ??= '/tmp';
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`rlrp: ${usage ? '' : `${e.name}: `}${e.message}\n${usage ? `${USAGE}\n` : ''}`);
    process.exit(usage ? 2 : 1);
  },
);
