/**
 * Batch mode of `explain --image <folder|glob>`: images in batches of `--batch-size` on the GPU,
 * a grid and one heatmap per method per image in the output folder, and `summary.json` there,
 * rewritten atomically after every batch. A rerun of the same command skips the images that
 * summary.json records with all their outputs present, so an interrupted run resumes.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ImageError } from '../errors.js';
import type { Model } from '../model.js';
import { formatClass, type ClassScore } from './classes.js';
import type { ImageFile } from './image-files.js';
import { displayScale, explainImages, gridOf, pngBytes, prepareImage, writeOutput, type ImageSettings, type PreparedImage } from './image-explain.js';
import { Progress } from './progress.js';

export interface SummaryEntry {
  /** The input file as found. */
  file: string;
  /** Outputs, relative to the output folder: the grid, and each method's heatmap. */
  grid: string;
  heatmaps: Record<string, string>;
  top: ClassScore[];
  target: number;
  /** read: decoding and preprocessing; explain and render: this image's share of its batch's. */
  timings: { read_ms: number; explain_ms: number; render_ms: number };
}

export interface Summary {
  /** What made the outputs; a rerun with other settings starts over. */
  settings: Record<string, unknown>;
  images: SummaryEntry[];
  failed: { file: string; error: string }[];
}

export const SUMMARY = 'summary.json';

export interface Planned { file: ImageFile; grid: string; heatmaps: Record<string, string> }

/** Output names: the input's relative path with its extension replaced; two inputs may not share one. */
export function planOutputs(files: ImageFile[], methods: string[]): Planned[] {
  const owners = new Map<string, string>();
  return files.map((file) => {
    const stem = file.relative.replace(/\.[^./]*$/, '');
    const grid = `${stem}.png`;
    const clash = owners.get(grid);
    if (clash) throw new ImageError(`${clash} and ${file.path} would both write ${grid}; rename one or explain them separately`);
    owners.set(grid, file.path);
    return { file, grid, heatmaps: Object.fromEntries(methods.map((m) => [m, `${stem}.${m}.png`])) };
  });
}

async function readSummary(path: string, settings: Record<string, unknown>): Promise<Summary | undefined> {
  if (!existsSync(path)) return undefined;
  let summary: Summary;
  try {
    summary = JSON.parse(await readFile(path, 'utf8')) as Summary;
  } catch (e) {
    process.stderr.write(`rlrp: ${path} is not readable JSON (${(e as Error).message}); starting over\n`);
    return undefined;
  }
  if (JSON.stringify(summary.settings) !== JSON.stringify(settings) || !Array.isArray(summary.images)) {
    process.stderr.write(`rlrp: ${path} was written with other settings; starting over\n`);
    return undefined;
  }
  return summary;
}

/** Replaces the file in one step: a kill at any moment leaves the old or the new summary, never half of one. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

export interface BatchOptions {
  outDir: string;
  batchSize: number;
  settings: ImageSettings;
  /** Recorded in summary.json; outputs made with other settings are not reused. */
  record: Record<string, unknown>;
  names?: string[];
  quiet: boolean;
  json: boolean;
}

/** Explains one batch and adds its images to the summary (failures to summary.failed). */
async function runBatch(model: Model, chunk: Planned[], summary: Summary, options: BatchOptions): Promise<void> {
  const { outDir, settings, names } = options;
  const ready: { plan: Planned; image: PreparedImage }[] = [];
  for (const plan of chunk) {
    try {
      ready.push({ plan, image: await prepareImage(plan.file, model.info.inputShape, settings) });
    } catch (e) {
      if (!(e instanceof ImageError)) throw e;
      summary.failed.push({ file: plan.file.path, error: e.message });
      if (!options.json) console.log(`${plan.file.path}: FAILED: ${e.message}`);
    }
  }
  if (ready.length === 0) return;
  const { images, explainMs, renderMs } = await explainImages(model, ready.map((r) => r.image), settings, names);
  for (const [n, { plan, image }] of ready.entries()) {
    const started = performance.now();
    const explained = images[n];
    const scale = displayScale(image.pixels.height, image.pixels.width);
    await mkdir(dirname(join(outDir, plan.grid)), { recursive: true });
    await writeOutput(join(outDir, plan.grid), pngBytes(gridOf(image, explained, settings, names)));
    for (const [i, method] of settings.methods.entries()) await writeOutput(join(outDir, plan.heatmaps[method]), pngBytes(explained.heatmaps[i], scale));
    summary.images.push({
      file: plan.file.path, grid: plan.grid, heatmaps: plan.heatmaps, top: explained.top, target: explained.target,
      timings: { read_ms: image.readMs, explain_ms: explainMs / ready.length, render_ms: renderMs / ready.length + performance.now() - started },
    });
    if (!options.json) console.log(`${plan.file.path}: ${formatClass(explained.top[0])} -> ${join(outDir, plan.grid)}`);
  }
}

/** Runs the batch; returns the number of images that failed (their errors are in summary.json). */
export async function explainBatch(model: Model, files: ImageFile[], options: BatchOptions): Promise<number> {
  const { outDir, settings } = options;
  const planned = planOutputs(files, settings.methods);
  await mkdir(outDir, { recursive: true }).catch((e: Error) => { throw new Error(`could not make the output folder ${outDir}: ${e.message}`); });
  const summaryPath = join(outDir, SUMMARY);
  const previous = await readSummary(summaryPath, options.record);
  const complete = (e: SummaryEntry) => [e.grid, ...Object.values(e.heatmaps)].every((p) => existsSync(join(outDir, p)));
  const summary: Summary = { settings: options.record, images: previous?.images.filter(complete) ?? [], failed: [] };
  const done = new Set(summary.images.map((e) => e.grid));
  const todo = planned.filter((p) => !done.has(p.grid));
  const skipped = planned.length - todo.length;
  if (skipped > 0 && !options.json) console.log(`${skipped} of ${planned.length} images already explained in ${outDir} (${SUMMARY}); skipping them`);
  const progress = new Progress({ label: 'explaining', unit: 'images', total: todo.length, enabled: !options.quiet && todo.length > 0 });
  const started = performance.now();
  // Ctrl-C stops at once: every finished batch is already in summary.json, written atomically.
  let recorded = summary.images.length;
  const interrupted = () => {
    process.stderr.write(`\nrlrp: interrupted; ${recorded} images are recorded in ${summaryPath}: run the same command again to resume\n`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  try {
    for (let start = 0; start < todo.length; start += options.batchSize) {
      const chunk = todo.slice(start, start + options.batchSize);
      await runBatch(model, chunk, summary, options);
      await writeAtomically(summaryPath, `${JSON.stringify(summary, null, 1)}\n`);
      recorded = summary.images.length;
      progress.tick(chunk.length);
    }
  } finally {
    process.off('SIGINT', interrupted);
  }
  progress.finish();
  const seconds = (performance.now() - started) / 1000;
  const explained = todo.length - summary.failed.length;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ explained, skipped, failed: summary.failed.length, summary: summaryPath, seconds, images_per_s: seconds > 0 ? explained / seconds : null })}\n`);
  } else {
    console.log(`explained ${explained} images in ${seconds.toFixed(1)} s (${(explained / Math.max(seconds, 1e-9)).toFixed(2)} images/s); ${skipped} skipped, ${summary.failed.length} failed; summary in ${summaryPath}`);
  }
  return summary.failed.length;
}
