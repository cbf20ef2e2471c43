#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildGraph } from '../graph/build.js';
import { SUPPORTED_LAYERS, canonicalClass } from '../graph/build.js';
import { readKerasModel, type KerasModel } from '../keras/load.js';
import { parseNpy } from '../io/npy.js';
import { Model } from '../model.js';
import { InputShapeError } from '../errors.js';

const USAGE = `usage:
  rlrp predict --model <file> --input <x.npy> [--config <arch.json>] [--labels <names.json>] [--top K] [--json]
  rlrp inspect --model <file> [--config <arch.json>] [--json]

  --model   Keras model: legacy .h5, Keras 3 .keras, or a weights-only .h5 / .weights.h5 with --config
  --config  architecture JSON (model.to_json()) for weights-only files
  --input   float32 .npy, NHWC, batch first (a single sample without the batch axis is accepted)
  --labels  class names: a JSON array, or an object with a "class_names" array
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
    const array = parseNpy(await readFile(values.input).catch((e: Error) => { throw new InputShapeError(`could not read input '${values.input}': ${e.message}`); }));
    const per = model.info.inputShape;
    const shape = array.shape.length === per.length ? [1, ...array.shape] : array.shape;
    const { logits, batch, classes } = await model.predict(array.data, shape);
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
  const { values } = parseArgs({
    args: rest,
    options: { model: { type: 'string' }, input: { type: 'string' }, config: { type: 'string' }, labels: { type: 'string' }, json: { type: 'boolean' }, top: { type: 'string' } },
    strict: true,
  });
  if (command === 'predict') await predict(values);
  else if (command === 'inspect') await inspect(values);
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
