/**
 * `--model <file|name>`: a Keras file, or a Keras Applications model by name (downloaded through
 * the zoo with a progress bar), together with its preprocessing preset where one is known.
 */
import { existsSync } from 'node:fs';
import type { Preset } from '../image/preprocess.js';
import { readKerasModel, type KerasModel } from '../keras/load.js';
import { UnknownModelError } from '../errors.js';
import { resolveModel, ZOO, zooEntryForKerasName } from '../zoo/index.js';
import { Progress } from './progress.js';
import { stringFlag, UsageError, type Values } from './args.js';

export interface ModelSource {
  keras: KerasModel;
  /** What `--model` named: the zoo name or the file path. */
  name: string;
  /** The preset the model records (zoo entry, or a file saved from Keras Applications), if any. */
  recordedPreset?: Preset;
  /** Where the recorded preset comes from, for messages. */
  presetOrigin?: string;
}

/** Reads the model `--model` names (downloading zoo weights on first use) without touching the GPU. */
export async function readModelSource(values: Values): Promise<ModelSource> {
  const name = stringFlag(values, 'model');
  if (name === undefined) throw new UsageError('--model is required: a Keras file or one of the names ' + [...ZOO.keys()].join(', '));
  const config = stringFlag(values, 'config');
  if (ZOO.has(name.toLowerCase()) && !existsSync(name)) {
    if (config !== undefined) throw new UsageError(`--config does not apply to a model by name ('${name}' comes with its architecture)`);
    const progress = new Progress({ label: `${name} weights`, unit: 'B', enabled: !values.quiet });
    const resolved = await resolveModel(name, { cacheDir: stringFlag(values, 'cache-dir'), onProgress: (received, total) => progress.update(received, total) });
    if (!resolved.fromCache) progress.finish();
    const keras = await readKerasModel(resolved.weightsPath, { config: resolved.configPath });
    return { keras, name: resolved.name, recordedPreset: resolved.preset, presetOrigin: `Keras Applications ${resolved.name}` };
  }
  if (!existsSync(name) && !/[./\\]/.test(name)) {
    throw new UnknownModelError(`'${name}' is neither a model file nor a model name (the models known by name are ${[...ZOO.keys()].join(', ')})`);
  }
  const keras = await readKerasModel(name, { config });
  const entry = zooEntryForKerasName(keras.config.name);
  return entry ? { keras, name, recordedPreset: entry.preset, presetOrigin: `a Keras Applications ${entry.name} model ('${keras.config.name}')` } : { keras, name };
}
