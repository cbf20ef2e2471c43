/** `rlrp predict`: the top classes of images or of a .npy array. */
import { sizeOf } from '../graph/ir.js';
import { Model } from '../model.js';
import { countFlag, stringFlag, UsageError, type Values } from './args.js';
import { readArray } from './arrays.js';
import { formatClass, readClassNames, topClasses, type ClassScore } from './classes.js';
import { prepareImage } from './image-explain.js';
import { imageInputs, imagePreset } from './image-options.js';
import { readModelSource } from './model-source.js';

export async function predict(values: Values, rest: string[]): Promise<void> {
  const images = imageInputs(values, rest);
  const input = stringFlag(values, 'input');
  if (!images && input === undefined) throw new UsageError('predict needs --image <file|folder|glob> or --input <x.npy>');
  const top = countFlag(values, 'top', 5);
  const source = await readModelSource(values);
  const preset = images && imagePreset(source, values);
  const model = await Model.fromKeras(source.keras);
  try {
    const names = await readClassNames(stringFlag(values, 'labels'), sizeOf(model.info.outputShape));
    const rows: { file?: string; top: ClassScore[]; logits: Float32Array }[] = [];
    if (images) {
      for (let start = 0; start < images.files.length; start += images.batchSize) {
        const chunk = images.files.slice(start, start + images.batchSize);
        const prepared = await Promise.all(chunk.map((file) => prepareImage(file, model.info.inputShape, { ...images, preset: preset! })));
        const batch = new Float32Array(prepared.reduce((a, p) => a + p.input.length, 0));
        prepared.forEach((p, n) => batch.set(p.input, n * p.input.length));
        const { logits, classes } = await model.predict(batch, [chunk.length, ...model.info.inputShape]);
        prepared.forEach((p, n) => {
          const row = logits.subarray(n * classes, (n + 1) * classes);
          rows.push({ file: p.file.path, top: topClasses(row, top, names), logits: row });
        });
      }
    } else {
      const { data, shape } = await readArray(input!, model);
      const { logits, batch, classes } = await model.predict(data, shape);
      for (let n = 0; n < batch; n++) {
        const row = logits.subarray(n * classes, (n + 1) * classes);
        rows.push({ top: topClasses(row, top, names), logits: row });
      }
    }
    if (values.json) {
      const common = { adapter: model.info.adapter, model: model.info.name };
      const out = images
        ? { ...common, preset, images: rows.map((r) => ({ file: r.file, top: r.top, logits: Array.from(r.logits) })) }
        : { ...common, logits: rows.map((r) => Array.from(r.logits)), top: rows.map((r) => r.top), input_shape: [rows.length, ...model.info.inputShape] };
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return;
    }
    console.log(`model ${model.info.name} (${model.keras.format}) on ${model.info.adapter}${preset ? `; preprocessing ${preset}` : ''}`);
    rows.forEach((r, i) => console.log(`${r.file ?? `sample ${i}`}: ${r.top.map((e) => `${formatClass(e)} (logit ${e.logit.toFixed(4)})`).join(', ')}`));
  } finally {
    model.destroy();
  }
}
