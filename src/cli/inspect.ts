/** `rlrp inspect`: a model's layers, whether the engine runs them, and its preprocessing preset. */
import { buildGraph, canonicalClass, SUPPORTED_LAYERS } from '../graph/build.js';
import type { KerasModel } from '../keras/load.js';
import type { Values } from './args.js';
import { readModelSource } from './model-source.js';

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

export async function inspect(values: Values): Promise<void> {
  const source = await readModelSource(values);
  const { keras } = source;
  const { rows, problem } = layerTable(keras);
  const unsupported = rows.filter((r) => !r.supported);
  const preset = source.recordedPreset ?? null;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({
      model: keras.config.name, class: keras.config.className, format: keras.format, keras_version: keras.kerasVersion, layers: rows,
      params: rows.reduce((a, r) => a + r.params, 0), supported: !problem, problem, preset, preset_origin: source.presetOrigin ?? null,
    })}\n`);
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
  console.log(preset ? `preprocessing: ${preset} (${source.presetOrigin})` : 'preprocessing: not recorded (images need --preprocess)');
}
