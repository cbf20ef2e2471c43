import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Model, type LoadOptions } from '../model.js';
import { cachedDownload, defaultCacheDir } from './download.js';
import { KERAS_APPLICATIONS_BASE, zooEntry, type ZooEntry } from './registry.js';

/**
 * Keras Applications models by name (Node only; not part of the browser entry): the official
 * ImageNet weights, downloaded once from where Keras downloads them into Keras's own cache
 * folder, checked against Keras's hashes, then loaded offline.
 */

export { ZOO, zooEntry, zooEntryForKerasName, type ZooEntry } from './registry.js';
export { defaultCacheDir } from './download.js';

export interface ResolveOptions {
  /** Folder holding the weight files (default: RLRP_CACHE_DIR, else Keras's `$KERAS_HOME/models` or `~/.keras/models`). */
  cacheDir?: string;
  /** Replaces Keras's bucket (https://storage.googleapis.com/tensorflow/keras-applications/) in
   * the download URL, keeping the `<folder>/<file>` part; default RLRP_ZOO_MIRROR. */
  baseUrl?: string;
  /** Download progress; `received` counts a resumed part too, `total` is undefined when unknown. */
  onProgress?: (received: number, total?: number) => void;
  /** Injected fetch (tests). */
  fetch?: typeof fetch;
  /** Give up on a connection silent for this long (default 60 s). */
  idleTimeoutMs?: number;
}

export interface ResolvedModel {
  name: string;
  /** The verified weights file (weights-only legacy HDF5). */
  weightsPath: string;
  /** Its architecture JSON (model.to_json()), shipped in weights/zoo/. */
  configPath: string;
  /** Preprocessing preset the weights were trained with (Keras's preprocess_input mode). */
  preset: ZooEntry['preset'];
  /** Per-sample input shape, NHWC. */
  inputShape: [number, number, number];
  classes: number;
  url: string;
  /** true when the cached file was used without touching the network. */
  fromCache: boolean;
}

// Same relative path from src/zoo (tests) and dist/zoo (package): <root>/weights/zoo.
const ARCHITECTURES = fileURLToPath(new URL('../../weights/zoo/', import.meta.url));

/** Finds (downloading and verifying on first use) the weights of a model known by name. */
export async function resolveModel(name: string, options: ResolveOptions = {}): Promise<ResolvedModel> {
  const entry = zooEntry(name);
  const base = options.baseUrl || process.env.RLRP_ZOO_MIRROR || KERAS_APPLICATIONS_BASE;
  const url = `${base.replace(/\/+$/, '')}/${entry.path}`;
  const cacheDir = options.cacheDir ?? (await defaultCacheDir());
  const { path, fromCache } = await cachedDownload({
    url,
    target: join(cacheDir, entry.fileName),
    hash: entry.hash,
    what: `${entry.name} weights`,
    onProgress: options.onProgress,
    fetch: options.fetch,
    idleTimeoutMs: options.idleTimeoutMs,
    hint: `or point RLRP_ZOO_MIRROR at a server holding ${entry.path}, or RLRP_CACHE_DIR at a folder holding ${entry.fileName}`,
  });
  return {
    name: entry.name, weightsPath: path, configPath: join(ARCHITECTURES, `${entry.name}.json`), preset: entry.preset,
    inputShape: [...entry.inputShape], classes: entry.classes, url, fromCache,
  };
}

/** resolveModel, then Model.load of the weights with their architecture. */
export async function loadNamedModel(name: string, options: ResolveOptions & LoadOptions = {}): Promise<{ model: Model; resolved: ResolvedModel }> {
  const resolved = await resolveModel(name, options);
  const model = await Model.load(resolved.weightsPath, { ...options, config: resolved.configPath });
  return { model, resolved };
}
