/**
 * Preprocessing presets named after Keras Applications
 * (keras.applications.imagenet_utils.preprocess_input), computed in float32 step by step as
 * NumPy does, so the model sees bit-identical inputs:
 *   caffe: RGB -> BGR, minus the ImageNet mean [103.939, 116.779, 123.68] (VGG16, VGG19, ResNet50)
 *   tf:    x / 127.5 - 1                                                   (MobileNet, Inception, Xception)
 *   torch: (x / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]      (DenseNet)
 *   unit:  x / 255          raw: x
 */
import { ImageError } from '../errors.js';
import { loadPixels, type ColorMode } from './load.js';
import type { Interpolation } from './resample.js';
import type { DecodedImage, Pixels } from './types.js';

export type Preset = 'caffe' | 'tf' | 'torch' | 'unit' | 'raw';
export const PRESETS: readonly Preset[] = ['caffe', 'tf', 'torch', 'unit', 'raw'];

const f = Math.fround;
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68].map(f);
const TORCH_MEAN = [0.485, 0.456, 0.406].map(f);
const TORCH_STD = [0.229, 0.224, 0.225].map(f);

/** The preset of that name; anything else is an ImageError listing the valid names. */
export function presetNamed(name: string): Preset {
  if (!(PRESETS as readonly string[]).includes(name)) throw new ImageError(`unknown preprocessing preset '${name}' (valid: ${PRESETS.join(', ')})`);
  return name as Preset;
}

/** One float32 value of channel `c` (of `channels`) for 8-bit pixel values `px` (the pixel's channels). */
function transform(preset: Preset, px: Uint8Array, at: number, c: number): number {
  switch (preset) {
    case 'raw': return px[at + c];
    case 'unit': return f(px[at + c] / 255);
    case 'tf': return f(f(px[at + c] / 127.5) - 1);
    case 'torch': return f(f(f(px[at + c] / 255) - TORCH_MEAN[c]) / TORCH_STD[c]);
    case 'caffe': return f(px[at + 2 - c] - CAFFE_MEAN_BGR[c]);
  }
}

/** A batch of same-sized images as one float32 NHWC tensor, preprocessed with `preset`. */
export function preprocess(images: Pixels | Pixels[], preset: Preset | string): Float32Array {
  const batch = Array.isArray(images) ? images : [images];
  const chosen = presetNamed(preset);
  if (batch.length === 0) throw new ImageError('no images to preprocess');
  const { width, height, channels } = batch[0];
  if ((chosen === 'caffe' || chosen === 'torch') && channels !== 3) {
    throw new ImageError(`preset '${chosen}' works on 3-channel RGB images, not ${channels}-channel ones`);
  }
  const per = width * height * channels;
  const out = new Float32Array(batch.length * per);
  batch.forEach((image, n) => {
    if (image.width !== width || image.height !== height || image.channels !== channels) {
      throw new ImageError(`image ${n} is ${image.height} x ${image.width} x ${image.channels}, not ${height} x ${width} x ${channels} as image 0: resize images to the model's input size first`);
    }
    for (let p = 0; p < width * height; p++) for (let c = 0; c < channels; c++) out[n * per + p * channels + c] = transform(chosen, image.data, p * channels, c);
  });
  return out;
}

export interface ModelInputOptions {
  preset: Preset | string;
  /** Default 'nearest', as keras.utils.load_img. */
  interpolation?: Interpolation;
  /** Centre-crop to the model's aspect ratio before resizing (default false). */
  keepAspectRatio?: boolean;
  /**
   * A grey image for a 3-channel model is refused unless this is set; then its grey channel is
   * repeated, as keras.utils.load_img(color_mode='rgb') does.
   */
  greyToRgb?: boolean;
  /** Names the image in messages. */
  name?: string;
}

/**
 * A decoded image as a model input of `inputShape` [height, width, channels]: loaded as
 * keras.utils.load_img(target_size=(height, width)) in the colour mode the channel count implies
 * (1 grayscale, 3 rgb, 4 rgba), then preprocessed. Returns float32 NHWC with a batch of 1.
 */
export function modelInput(image: DecodedImage, inputShape: readonly number[], options: ModelInputOptions): Float32Array {
  const name = options.name ?? 'image';
  const [height, width, channels] = inputShape;
  const modes: Record<number, ColorMode> = { 1: 'grayscale', 3: 'rgb', 4: 'rgba' };
  if (inputShape.length !== 3 || !modes[channels]) {
    throw new ImageError(`${name}: the model takes input of shape [${inputShape.join(', ')}], not an image (height, width and 1, 3 or 4 channels)`);
  }
  if (channels >= 3 && image.channels <= 2 && !options.greyToRgb) {
    throw new ImageError(`${name} is a greyscale image but the model takes ${channels}-channel colour input; allow greyToRgb (CLI: --grey-to-rgb) to repeat the grey channel as keras.utils.load_img(color_mode='rgb') does`);
  }
  const pixels = loadPixels(image, { colorMode: modes[channels], targetSize: [height, width], interpolation: options.interpolation, keepAspectRatio: options.keepAspectRatio });
  return preprocess(pixels, options.preset);
}
