/**
 * Images through a model: files to preprocessed inputs, one explainOnGpu call per batch and
 * method, heatmaps rendered by the WGSL pass on the model's device, and the picture the CLI
 * writes per image: the input, then one heatmap per method, titled.
 */
import { writeFile } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { readImage } from '../image/decode.js';
import { composeGrid } from '../image/grid.js';
import { loadPixels, toRgba, type ColorMode } from '../image/load.js';
import { encodePng } from '../image/png.js';
import { modelInput, type Preset } from '../image/preprocess.js';
import { readBack, readTexture, renderHeatmap } from '../image/render.js';
import type { Interpolation } from '../image/resample.js';
import type { ColormapName } from '../image/colormaps.js';
import type { HeatmapOptions } from '../image/heatmap.js';
import type { Pixels, RgbaImage } from '../image/types.js';
import type { Method, MethodOptions } from '../rules/index.js';
import type { Model } from '../model.js';
import { topClasses, type ClassScore } from './classes.js';
import type { ImageFile } from './image-files.js';

export interface ImageSettings {
  methods: Method[];
  methodOptions: MethodOptions;
  /** Class to explain for every image (default: each image's predicted class). */
  target?: number;
  preset: Preset;
  interpolation: Interpolation;
  /** Centre-crop to the model's aspect ratio before resizing. */
  crop: boolean;
  greyToRgb: boolean;
  colormap: ColormapName;
  /** Heatmaps blended over the input with this opacity. */
  overlay?: number;
  /** Symmetric scale at this percentile of |R| instead of max |R|. */
  clip?: number;
  top: number;
}

export interface PreparedImage {
  file: ImageFile;
  /** The preprocessed model input (float32 NHWC, batch of 1). */
  input: Float32Array;
  /** The pixels the model sees, before preprocessing (for the grid and overlays). */
  pixels: Pixels;
  readMs: number;
}

export interface ExplainedImage {
  top: ClassScore[];
  target: number;
  /** One per method, in the settings' order. */
  heatmaps: RgbaImage[];
  /** One per method, when asked for. */
  relevance?: Float32Array[];
}

const COLOR_MODES: Record<number, ColorMode> = { 1: 'grayscale', 3: 'rgb', 4: 'rgba' };

/** Reads, resizes and preprocesses one image for a model of per-sample shape `inputShape` [h, w, c]. */
export async function prepareImage(file: ImageFile, inputShape: readonly number[], settings: Pick<ImageSettings, 'preset' | 'interpolation' | 'crop' | 'greyToRgb'>): Promise<PreparedImage> {
  const started = performance.now();
  const image = await readImage(file.path);
  const options = { interpolation: settings.interpolation, keepAspectRatio: settings.crop };
  const input = modelInput(image, inputShape, { ...options, preset: settings.preset, greyToRgb: settings.greyToRgb, name: file.path });
  const [height, width, channels] = inputShape;
  const pixels = loadPixels(image, { ...options, colorMode: COLOR_MODES[channels], targetSize: [height, width] });
  return { file, input, pixels, readMs: performance.now() - started };
}

/**
 * Explains a batch of prepared images with every method: one explainOnGpu call per method for
 * the whole batch, each sample's heatmap rendered from the relevance where it lies on the GPU.
 */
export async function explainImages(model: Model, images: PreparedImage[], settings: ImageSettings, names: string[] | undefined, withRelevance = false): Promise<{ images: ExplainedImage[]; explainMs: number; renderMs: number }> {
  const per = images[0].input.length;
  const batch = new Float32Array(per * images.length);
  images.forEach((image, n) => batch.set(image.input, n * per));
  const shape = [images.length, ...model.info.inputShape];
  const explained: ExplainedImage[] = images.map(() => ({ top: [], target: -1, heatmaps: [], ...(withRelevance && { relevance: [] }) }));
  let explainMs = 0;
  let renderMs = 0;
  for (const method of settings.methods) {
    const started = performance.now();
    const result = await model.explainOnGpu(batch, { ...settings.methodOptions, method, target: settings.target, shape });
    const rendering = performance.now();
    explainMs += rendering - started;
    try {
      const classes = result.logits.length / images.length;
      for (let n = 0; n < images.length; n++) {
        const image = explained[n];
        if (image.target < 0) {
          image.top = topClasses(result.logits.subarray(n * classes, (n + 1) * classes), settings.top, names);
          image.target = result.targets[n];
        }
        const options: HeatmapOptions = {
          colormap: settings.colormap,
          scale: settings.clip === undefined ? 'max' : { percentile: settings.clip },
          ...(settings.overlay !== undefined && { overlay: { image: images[n].pixels, opacity: settings.overlay } }),
        };
        const texture = await renderHeatmap(model.gpu, result.relevance, { shape: result.shape, sample: n }, options);
        try {
          image.heatmaps.push(await readTexture(model.gpu, texture));
        } finally {
          texture.destroy();
        }
        image.relevance?.push(new Float32Array(await readBack(model.gpu, result.relevance, n * per * 4, per * 4)));
      }
    } finally {
      result.relevance.destroy();
    }
    renderMs += performance.now() - rendering;
  }
  return { images: explained, explainMs, renderMs };
}

/** Whole-pixel upscaling that shows small inputs (28 x 28) at a visible size. */
export function displayScale(height: number, width: number): number {
  return Math.max(1, Math.floor(256 / Math.max(height, width)));
}

/** The target class as a title: its name, else its index. */
function targetTitle(explained: ExplainedImage, names: string[] | undefined): string {
  return names?.[explained.target] ?? `class ${explained.target}`;
}

/** The input (titled with the explained class) and one heatmap per method (titled with the method), side by side. */
export function gridOf(image: PreparedImage, explained: ExplainedImage, settings: ImageSettings, names: string[] | undefined): RgbaImage {
  const panels = [
    { image: toRgba(image.pixels), title: targetTitle(explained, names) },
    ...explained.heatmaps.map((heat, i) => ({ image: heat, title: settings.methods[i] })),
  ];
  return composeGrid(panels, { scale: displayScale(image.pixels.height, image.pixels.width) });
}

export function pngBytes(image: RgbaImage, scale = 1): Uint8Array {
  return encodePng(image, (raw) => deflateSync(raw), scale);
}

/** Writes an output file; failing, an error that names the path (a missing folder, no permission). */
export async function writeOutput(path: string, bytes: Uint8Array | string): Promise<void> {
  await writeFile(path, bytes).catch((e: Error) => { throw new Error(`could not write ${path}: ${e.message}`); });
}
