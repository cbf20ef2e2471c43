/** `--input <x.npy>`: a float32 array as the model's input batch. */
import { readFile } from 'node:fs/promises';
import { InputShapeError } from '../errors.js';
import { parseNpy } from '../io/npy.js';
import type { Model } from '../model.js';

/** The array with a batch axis (a single sample without one is accepted). */
export async function readArray(path: string, model: Model): Promise<{ data: Float32Array; shape: number[] }> {
  const array = parseNpy(await readFile(path).catch((e: Error) => { throw new InputShapeError(`could not read input '${path}': ${e.message}`); }));
  const per = model.info.inputShape;
  return { data: array.data, shape: array.shape.length === per.length ? [1, ...array.shape] : array.shape };
}
