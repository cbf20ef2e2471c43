import { ModelFormatError } from '../errors.js';
import { parseModelConfig, parseModelJson, type KerasModelConfig } from './config.js';
import { Hdf5File, isHdf5 } from './hdf5.js';
import type { ByteReader } from '../io/byte-reader.js';
import { openBytes, readBytes, type ByteSource } from './source.js';
import { readKeras3Weights, readLegacyWeights, type LayerWeights } from './weights.js';
import { isZip, ZipArchive } from './zip.js';

/** Bounds on what a `.keras` archive may inflate to: configs are kilobytes, weights up to what a browser can hold. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;
const MAX_WEIGHTS_BYTES = 2 ** 31 - 1;

export type KerasFormat = 'keras-zip' | 'legacy-h5' | 'legacy-weights-h5' | 'keras3-weights-h5';

export interface KerasModel {
  config: KerasModelConfig;
  weights: LayerWeights;
  format: KerasFormat;
  kerasVersion?: string;
  label: string;
}

export interface KerasLoadOptions {
  /** Architecture for weights-only files: the output of `model.to_json()` (text, parsed object, or a source to read). */
  config?: ByteSource | Record<string, unknown>;
}

async function architecture(source: KerasLoadOptions['config'], label: string): Promise<KerasModelConfig> {
  if (source === undefined) {
    throw new ModelFormatError(`${label} holds weights only; pass its architecture (the JSON from model.to_json()) as the config option / --config`);
  }
  if (typeof source === 'object' && !(source instanceof URL) && !(source instanceof ArrayBuffer) && !(source instanceof Uint8Array)) {
    return parseModelConfig(source, 'architecture JSON');
  }
  const text = typeof source === 'string' && source.trimStart().startsWith('{') ? source : new TextDecoder().decode((await readBytes(source, 'architecture JSON')).bytes);
  return parseModelConfig(parseModelJson(text, 'architecture JSON'), 'architecture JSON');
}

async function loadHdf5(file: Hdf5File, options: KerasLoadOptions): Promise<KerasModel> {
  const modelConfig = file.attr('', 'model_config');
  const version = file.attr('', 'keras_version') ?? (file.isGroup('model_weights') ? file.attr('model_weights', 'keras_version') : undefined);
  const kerasVersion = typeof version === 'string' ? version : undefined;
  if (modelConfig !== undefined) {
    const config = options.config ? await architecture(options.config, file.label) : parseModelConfig(parseModelJson(String(modelConfig), file.label), file.label);
    if (!file.isGroup('model_weights')) throw new ModelFormatError(`${file.label}: has a model_config but no model_weights group`);
    return { config, weights: readLegacyWeights(file, 'model_weights', config), format: 'legacy-h5', kerasVersion, label: file.label };
  }
  if (file.isGroup('layers') || file.isGroup('vars')) {
    const config = await architecture(options.config, file.label);
    return { config, weights: readKeras3Weights(file, config), format: 'keras3-weights-h5', label: file.label };
  }
  // Keras splits a list too long for one attribute into layer_names0, layer_names1, ...
  if (file.attr('', 'layer_names') !== undefined || file.attr('', 'layer_names0') !== undefined) {
    const config = await architecture(options.config, file.label);
    return { config, weights: readLegacyWeights(file, '', config), format: 'legacy-weights-h5', kerasVersion, label: file.label };
  }
  throw new ModelFormatError(`${file.label} is an HDF5 file but not a Keras model or weights file (no model_config, layer_names or layers group)`);
}

async function withHdf5<T>(source: ByteReader | Uint8Array, label: string, use: (file: Hdf5File) => Promise<T>): Promise<T> {
  const file = await Hdf5File.open(source, label);
  try {
    return await use(file);
  } finally {
    file.close();
  }
}

/**
 * Reads a Keras model (any supported format) into its configuration and weights. No GPU work.
 * The weights of an HDF5 file given by path stay on disk until an upload or a check reads them
 * (Float32Source): the file must stay in place while the model is in use.
 */
export async function readKerasModel(source: ByteSource, options: KerasLoadOptions = {}): Promise<KerasModel> {
  const file = await openBytes(source);
  const label = file.label;
  if (file.size === 0) throw new ModelFormatError(`${label} is empty`);
  const head = file.at(0, Math.min(64, file.size));
  if (isZip(head)) {
    const archive = new ZipArchive(file.at(0, file.size), label);
    if (!archive.entries.has('config.json') || !archive.entries.has('model.weights.h5')) {
      throw new ModelFormatError(`${label} is a ZIP archive but not a Keras 3 .keras file (needs config.json and model.weights.h5)`);
    }
    const configText = new TextDecoder().decode(await archive.read('config.json', MAX_JSON_BYTES));
    const config = options.config ? await architecture(options.config, label) : parseModelConfig(parseModelJson(configText, `${label} config.json`), label);
    let kerasVersion: string | undefined;
    if (archive.entries.has('metadata.json')) {
      const version = parseModelJson(new TextDecoder().decode(await archive.read('metadata.json', MAX_JSON_BYTES)), `${label} metadata.json`).keras_version;
      kerasVersion = typeof version === 'string' ? version : undefined;
    }
    const weightsBytes = await archive.read('model.weights.h5', MAX_WEIGHTS_BYTES);
    const weights = await withHdf5(weightsBytes, `${label} model.weights.h5`, async (file) => readKeras3Weights(file, config));
    return { config, weights, format: 'keras-zip', kerasVersion, label };
  }
  if (isHdf5(file)) return withHdf5(file, label, (hdf5) => loadHdf5(hdf5, options));
  if (new TextDecoder().decode(head).trimStart().startsWith('{')) {
    throw new ModelFormatError(`${label} is a JSON file, not a model; an architecture JSON goes with a weights file as the config option / --config`);
  }
  throw new ModelFormatError(`${label} is not a Keras model: neither HDF5 (.h5) nor a .keras ZIP archive`);
}
