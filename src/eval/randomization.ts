import { Float32Source } from '../io/float32-source.js';
import type { Hdf5Tensor } from '../keras/hdf5.js';
import type { KerasModel } from '../keras/load.js';
import { gaussian, seededRandom, spearman, ssim } from './statistics.js';
import type { ImageShape } from './perturbation.js';

/**
 * Cascading layer randomisation (Adebayo et al. 2018): the weights of the top k layers are
 * replaced with noise, k = 1 .. all, and the explanation is compared with the trained model's.
 * An explanation that barely changes does not depend on what the model learnt.
 */

/** Layers with a kernel (Conv2D, DepthwiseConv2D, Dense), output side first. */
export function layersTopDown(keras: KerasModel): string[] {
  return keras.config.layers.filter((l) => keras.weights.get(l.name)?.has('kernel')).map((l) => l.name).reverse();
}

/**
 * The same model with the kernels and biases of `layers` replaced by Gaussian noise of the
 * originals' standard deviation (a zero bias stays zero). Other layers share their tensors.
 */
export function withRandomizedLayers(keras: KerasModel, layers: readonly string[], seed: number): KerasModel {
  const weights = new Map(keras.weights);
  layers.forEach((name, i) => {
    const vars = keras.weights.get(name);
    if (!vars) throw new Error(`layer '${name}' has no weights to randomise`);
    const normal = gaussian(seededRandom(seed + 7919 * (i + 1)));
    const replaced = new Map<string, Hdf5Tensor>(vars);
    for (const role of ['kernel', 'bias']) {
      const t = vars.get(role);
      if (!t) continue;
      const values = t.data.values();
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      replaced.set(role, { shape: t.shape, data: Float32Source.of(Float32Array.from(values, () => sd * normal())) });
    }
    weights.set(name, replaced);
  });
  return { ...keras, weights, label: `${keras.label} (randomised: ${layers.join(', ')})` };
}

/** Channel-summed map of one sample. */
export function pixelMap(relevance: ArrayLike<number>, image: ImageShape): Float64Array {
  const { height, width, channels } = image;
  const out = new Float64Array(height * width);
  for (let p = 0; p < height * width; p++) for (let c = 0; c < channels; c++) out[p] += relevance[p * channels + c];
  return out;
}

/**
 * Similarity of two explanations as Adebayo et al. measure it: Spearman rank correlation of the
 * absolute pixel maps, and SSIM of the absolute maps each scaled to [0, 1] by its maximum.
 */
export function explanationSimilarity(a: ArrayLike<number>, b: ArrayLike<number>, image: ImageShape): { spearman: number; ssim: number } {
  const absA = pixelMap(a, image).map(Math.abs);
  const absB = pixelMap(b, image).map(Math.abs);
  const scaled = (m: Float64Array) => {
    const max = m.reduce((x, v) => Math.max(x, v), 0) || 1;
    return m.map((v) => v / max);
  };
  return { spearman: spearman(absA, absB), ssim: ssim(scaled(absA), scaled(absB), image.height, image.width, 1) };
}
