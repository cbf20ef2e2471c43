/** The image flags of predict and explain, checked before the model is loaded. */
import { ImageError } from '../errors.js';
import { presetNamed, PRESETS, type Preset } from '../image/preprocess.js';
import { INTERPOLATIONS, type Interpolation } from '../image/resample.js';
import { countFlag, stringFlag, UsageError, type Values } from './args.js';
import { imageFiles, type ImageFile } from './image-files.js';
import type { ModelSource } from './model-source.js';

export interface ImageInputs {
  files: ImageFile[];
  /** A folder, a glob or several images rather than one file. */
  batch: boolean;
  interpolation: Interpolation;
  crop: boolean;
  greyToRgb: boolean;
  batchSize: number;
}

/** The images `--image` (and extra arguments) name, with the options for reading them; undefined without --image. */
export function imageInputs(values: Values, rest: string[]): ImageInputs | undefined {
  const args = [...((values.image as string[] | undefined) ?? []), ...rest];
  if (!values.image) {
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' (images go after --image)`);
    return undefined;
  }
  if (values.input !== undefined) throw new UsageError('give either --image or --input, not both');
  const interpolation = stringFlag(values, 'interpolation') ?? 'nearest';
  if (!(INTERPOLATIONS as readonly string[]).includes(interpolation)) throw new ImageError(`unknown interpolation '${interpolation}' (valid: ${INTERPOLATIONS.join(', ')})`);
  const preset = stringFlag(values, 'preprocess');
  if (preset !== undefined) presetNamed(preset); // an unknown name fails before the model loads
  const batchSize = countFlag(values, 'batch-size', 8);
  return { ...imageFiles(args), interpolation: interpolation as Interpolation, crop: values.crop === true, greyToRgb: values['grey-to-rgb'] === true, batchSize };
}

/**
 * The preset images are preprocessed with: --preprocess when given (it always wins), else the
 * one the model records; a model that records none needs the flag.
 */
export function imagePreset(source: ModelSource, values: Values): Preset {
  const flag = stringFlag(values, 'preprocess');
  if (flag !== undefined) return presetNamed(flag);
  if (source.recordedPreset) return source.recordedPreset;
  throw new UsageError(`${source.name} records no preprocessing preset: give --preprocess <${PRESETS.join('|')}>, the scaling its training images had (e.g. unit for x/255, raw for 0..255)`);
}
