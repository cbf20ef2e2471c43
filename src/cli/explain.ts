/** `rlrp explain`: relevance of images (grid PNGs, batch folders) or of a .npy array. */
import { basename } from 'node:path';
import { ImageError, InputShapeError } from '../errors.js';
import { colormapNamed } from '../image/colormaps.js';
import { heatmap } from '../image/heatmap.js';
import { sizeOf } from '../graph/ir.js';
import { formatNpy } from '../io/npy.js';
import { Model } from '../model.js';
import { METHODS, type Method, type MethodOptions } from '../rules/index.js';
import { boundFlag, countFlag, numberFlag, rulesFlag, stringFlag, targetFlag, UsageError, type Values } from './args.js';
import { formatClass, readClassNames } from './classes.js';
import { readArray } from './arrays.js';
import { explainBatch } from './image-batch.js';
import { displayScale, explainImages, gridOf, pngBytes, prepareImage, writeOutput, type ImageSettings } from './image-explain.js';
import { imageInputs, imagePreset, type ImageInputs } from './image-options.js';
import { readModelSource, type ModelSource } from './model-source.js';

/** `--out-npy` for one of several methods: the method's name before the extension. */
function npyPath(path: string, method: string, several: boolean): string {
  return several ? path.replace(/(\.npy)?$/i, `.${method}.npy`) : path;
}

function methodFlags(values: Values): { methods: Method[]; methodOptions: MethodOptions } {
  const methods = (stringFlag(values, 'method') ?? 'rlrp').split(',').map((m) => m.trim()) as Method[];
  const methodOptions: MethodOptions = {
    skip: stringFlag(values, 'skip') as MethodOptions['skip'],
    epsilon: numberFlag(values, 'epsilon'), gamma: numberFlag(values, 'gamma'), alpha: numberFlag(values, 'alpha'), beta: numberFlag(values, 'beta'),
    low: boundFlag(values, 'low'), high: boundFlag(values, 'high'), rules: rulesFlag(stringFlag(values, 'rules')),
  };
  // Unknown names fail before the model loads (ruleFor checks the parameters against its graph).
  const unknown = methods.find((m) => !(METHODS as readonly string[]).includes(m));
  if (unknown !== undefined) throw new InputShapeError(`unknown method '${unknown}' (available: ${METHODS.join(', ')})`);
  return { methods, methodOptions };
}

export async function explain(values: Values, rest: string[]): Promise<void> {
  const images = imageInputs(values, rest);
  if (!images && stringFlag(values, 'input') === undefined) throw new UsageError('explain needs --image <file|folder|glob> or --input <x.npy>');
  const flags = methodFlags(values);
  if (images) await explainImageFiles(values, images, flags);
  else await explainArray(values, flags);
}

/** The image flags that shape the heatmaps, checked before the model loads. */
function imageSettings(values: Values, images: ImageInputs, flags: ReturnType<typeof methodFlags>): Omit<ImageSettings, 'preset'> {
  for (const flag of ['layer', 'out-png']) if (values[flag] !== undefined) throw new UsageError(`--${flag} applies to --input; with --image, --out writes the heatmaps`);
  const target = targetFlag(stringFlag(values, 'target'));
  if (Array.isArray(target)) throw new UsageError('--target with --image is one class index for every image');
  const overlay = numberFlag(values, 'overlay');
  if (overlay !== undefined && !(overlay >= 0 && overlay <= 1)) throw new UsageError(`--overlay must be an opacity from 0 to 1, got ${overlay}`);
  const clip = numberFlag(values, 'clip');
  if (clip !== undefined && !(clip > 0 && clip <= 100)) throw new UsageError(`--clip must be a percentile in (0, 100], got ${clip}`);
  return {
    ...flags, target, overlay, clip, top: countFlag(values, 'top', 5), colormap: colormapNamed(stringFlag(values, 'colormap') ?? 'bwr'),
    interpolation: images.interpolation, crop: images.crop, greyToRgb: images.greyToRgb,
  };
}

function describeModel(model: Model, source: ModelSource, settings: ImageSettings, values: Values): string {
  const origin = stringFlag(values, 'preprocess') !== undefined ? '--preprocess' : source.presetOrigin;
  return `model ${source.name} (${model.info.name}, ${model.keras.format}) on ${model.info.adapter}; preprocessing ${settings.preset} (${origin})`;
}

async function explainImageFiles(values: Values, images: ImageInputs, flags: ReturnType<typeof methodFlags>): Promise<void> {
  const partial = imageSettings(values, images, flags);
  const out = stringFlag(values, 'out');
  if (images.batch && out === undefined) throw new UsageError('several images need --out <folder> for their heatmaps and summary.json');
  if (images.batch && values['out-npy'] !== undefined) throw new UsageError('--out-npy applies to one image');
  const started = performance.now();
  const source = await readModelSource(values);
  const settings: ImageSettings = { ...partial, preset: imagePreset(source, values) };
  const model = await Model.fromKeras(source.keras);
  try {
    const names = await readClassNames(stringFlag(values, 'labels'), sizeOf(model.info.outputShape));
    const loadMs = performance.now() - started;
    if (!values.json) console.log(describeModel(model, source, settings, values));
    if (images.batch) {
      const record = {
        model: source.name, model_name: model.info.name, preset: settings.preset, methods: settings.methods, method_options: settings.methodOptions,
        target: settings.target ?? null, colormap: settings.colormap, overlay: settings.overlay ?? null, clip: settings.clip ?? null,
        interpolation: settings.interpolation, crop: settings.crop, grey_to_rgb: settings.greyToRgb,
      };
      const failed = await explainBatch(model, images.files, { outDir: out!, batchSize: images.batchSize, settings, record, names, quiet: values.quiet === true, json: values.json === true });
      if (failed > 0) throw new ImageError(`${failed} image${failed > 1 ? 's' : ''} could not be explained (see ${out}/summary.json)`);
      return;
    }
    const image = await prepareImage(images.files[0], model.info.inputShape, settings);
    const npy = stringFlag(values, 'out-npy');
    const { images: [explained], explainMs, renderMs } = await explainImages(model, [image], settings, names, npy !== undefined);
    const written: string[] = [];
    if (out !== undefined) {
      await writeOutput(out, pngBytes(gridOf(image, explained, settings, names)));
      written.push(out);
    }
    if (npy !== undefined) {
      for (const [i, method] of settings.methods.entries()) {
        const path = npyPath(npy, method, settings.methods.length > 1);
        await writeOutput(path, formatNpy({ shape: [1, ...model.info.inputShape], data: explained.relevance![i] }));
        written.push(path);
      }
    }
    const timings = { load_ms: loadMs, read_ms: image.readMs, explain_ms: explainMs, render_ms: renderMs };
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ file: image.file.path, model: source.name, preset: settings.preset, adapter: model.info.adapter, methods: settings.methods, top: explained.top, target: explained.target, written, timings })}\n`);
      return;
    }
    console.log(`${basename(image.file.path)}: top ${explained.top.length}:`);
    for (const entry of explained.top) console.log(`  ${formatClass(entry)} (logit ${entry.logit.toFixed(4)})`);
    console.log(`explained class ${explained.target}${names ? ` '${names[explained.target]}'` : ''} with ${settings.methods.join(', ')}`);
    for (const path of written) console.log(`wrote ${path}`);
    console.log(`load ${loadMs.toFixed(0)} ms, read ${image.readMs.toFixed(0)} ms, explain ${explainMs.toFixed(0)} ms (including compilation on first use), heatmaps ${renderMs.toFixed(0)} ms`);
  } finally {
    model.destroy();
  }
}

/** The array path: a .npy input, relevance to --out-npy, a CPU heatmap of the first sample to --out-png. */
async function explainArray(values: Values, { methods, methodOptions }: ReturnType<typeof methodFlags>): Promise<void> {
  if (methods.length !== 1) throw new UsageError('--input takes one --method');
  for (const flag of ['out', 'colormap', 'overlay', 'clip', 'preprocess', 'interpolation', 'crop', 'grey-to-rgb', 'batch-size']) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} applies to --image`);
  }
  const target = targetFlag(stringFlag(values, 'target'));
  const t0 = performance.now();
  const source = await readModelSource(values);
  const model = await Model.fromKeras(source.keras);
  try {
    const loadMs = performance.now() - t0;
    const { data, shape } = await readArray(stringFlag(values, 'input')!, model);
    const t1 = performance.now();
    const result = await model.explain(data, { ...methodOptions, method: methods[0], target, shape, layer: stringFlag(values, 'layer') });
    const explainMs = performance.now() - t1;
    const outNpy = stringFlag(values, 'out-npy');
    const outPng = stringFlag(values, 'out-png');
    if (outNpy !== undefined) await writeOutput(outNpy, formatNpy({ shape: result.shape, data: result.relevance }));
    if (outPng !== undefined) {
      const [h, w, c] = result.shape.length === 4 ? result.shape.slice(1) : [1, result.shape.length > 1 ? result.shape[result.shape.length - 1] : 1, 1];
      await writeOutput(outPng, pngBytes(heatmap(result.relevance, { shape: [result.batch, h, w, c] }), displayScale(h, w)));
    }
    const classes = result.logits.length / result.batch;
    const logits = Array.from({ length: result.batch }, (_, i) => Array.from(result.logits.subarray(i * classes, (i + 1) * classes)));
    if (values.json) {
      process.stdout.write(`${JSON.stringify({
        logits, target: result.targets, method: result.method, adapter: model.info.adapter,
        layers: result.layers.map((l) => ({ name: l.name, l1: l.l1, sum: l.sum })),
        relevance_shape: result.shape, out_npy: outNpy ?? null, out_png: outPng ?? null,
        timings: { load_ms: loadMs, explain_ms: explainMs, forward_ms: result.timings?.forwardMs ?? null, relevance_ms: result.timings?.relevanceMs ?? null },
      })}\n`);
      return;
    }
    console.log(`model ${model.info.name} on ${model.info.adapter}; method ${result.method}`);
    const per = result.relevance.length / result.batch;
    const where = values.layer ? `layer '${String(values.layer)}'` : 'input';
    for (let n = 0; n < result.batch; n++) {
      let sum = 0;
      let l1 = 0;
      for (let i = n * per; i < (n + 1) * per; i++) { sum += result.relevance[i]; l1 += Math.abs(result.relevance[i]); }
      console.log(`sample ${n}: target class ${result.targets[n]} (logit ${logits[n][result.targets[n]].toFixed(4)}), ${where} relevance sum ${sum.toFixed(4)}, L1 ${l1.toFixed(4)}`);
    }
    for (const path of [outNpy, outPng]) if (path !== undefined) console.log(`wrote ${path}`);
    const gpuTime = result.timings ? `; on the adapter: forward ${result.timings.forwardMs.toFixed(1)} ms, relevance ${result.timings.relevanceMs.toFixed(1)} ms` : '';
    console.log(`load ${loadMs.toFixed(0)} ms, explain ${explainMs.toFixed(0)} ms (including compilation on first use)${gpuTime}`);
  } finally {
    model.destroy();
  }
}
