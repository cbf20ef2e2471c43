import { ModelFormatError } from '../errors.js';
import type { KerasLayer, KerasModelConfig } from './config.js';
import type { Hdf5File, Hdf5Tensor } from './hdf5.js';

/** Variables of each layer, by role: kernel, bias, gamma, beta, moving_mean, moving_variance, mean, variance. */
export type LayerWeights = Map<string, Map<string, Hdf5Tensor>>;

/** Keras's own class-name-to-snake-case rule (keras.src.utils.naming.to_snake_case). */
export function toSnakeCase(name: string): string {
  return name.replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** The variable names a Keras 3 layer stores, in position order, given its config flags. */
function positionalVariableNames(layer: KerasLayer): string[] {
  const c = layer.config;
  switch (layer.className) {
    case 'Conv2D':
    case 'Dense':
    case 'DepthwiseConv2D':
      return c.use_bias === false ? ['kernel'] : ['kernel', 'bias'];
    case 'BatchNormalization':
      return [...(c.scale === false ? [] : ['gamma']), ...(c.center === false ? [] : ['beta']), 'moving_mean', 'moving_variance'];
    case 'Normalization':
      return ['mean', 'variance', 'count'];
    default:
      return [];
  }
}

/**
 * A list attribute, or its chunks `<name>0`, `<name>1`, ... that Keras writes when the list
 * exceeds HDF5's 64 KiB object-header limit (legacy_h5_format.load_attributes_from_hdf5_group).
 */
function listAttr(file: Hdf5File, path: string, name: string): string[] | undefined {
  const whole = file.stringListAttr(path, name);
  if (whole) return whole;
  const chunks: string[] = [];
  for (let i = 0; ; i++) {
    const chunk = file.stringListAttr(path, `${name}${i}`);
    if (!chunk) return i === 0 ? undefined : chunks;
    chunks.push(...chunk);
  }
}

/**
 * Legacy `.h5` layout: `<root>/<layer>/<weight_name>` listed by the `layer_names` and
 * `weight_names` attributes. As Keras's legacy loader (load_weights_from_hdf5_group) does, a
 * layer's stored weights are paired with its variables by ORDER, never by name: Keras 1 files
 * such as the official VGG16 weights name them `block1_conv1_W_1:0`, `block1_conv1_b_1:0`.
 */
export function readLegacyWeights(file: Hdf5File, root: string, model: KerasModelConfig): LayerWeights {
  const fileLayers = listAttr(file, root, 'layer_names');
  if (!fileLayers) throw new ModelFormatError(`${file.label}: no 'layer_names' attribute on '${root || '/'}'; not a Keras weights file`);
  const prefix = root ? `${root}/` : '';
  const stored = new Map<string, string[]>();
  for (const layerName of fileLayers) {
    const names = (listAttr(file, `${prefix}${layerName}`, 'weight_names') ?? []).filter((n) => n.length > 0);
    if (names.length > 0) stored.set(layerName, names);
  }
  const weighted = model.layers.filter((l) => positionalVariableNames(l).length > 0 && !(l.className === 'Normalization' && l.config.mean != null));
  let pairs: [KerasLayer, string][];
  if (weighted.every((l) => stored.has(l.name))) {
    pairs = weighted.map((l) => [l, l.name]);
  } else if (stored.size === weighted.length) {
    // Keras's own legacy load_weights (by_name=False) pairs weighted layers by order.
    const storedLayers = [...stored.keys()];
    pairs = weighted.map((l, i) => [l, storedLayers[i]]);
  } else {
    const missing = weighted.filter((l) => !stored.has(l.name)).map((l) => l.name);
    throw new ModelFormatError(
      `${file.label}: the architecture has ${weighted.length} layers with weights, the file ${stored.size}, and the names differ ` +
      `(no weights for ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}); the file has weights for ${[...stored.keys()].slice(0, 8).join(', ') || 'no layer'}`,
    );
  }
  const result: LayerWeights = new Map();
  for (const [layer, fileLayer] of pairs) {
    const names = stored.get(fileLayer)!;
    const roles = positionalVariableNames(layer);
    // Normalization's `count` is optional in files written before it existed.
    const enough = layer.className === 'Normalization' ? names.length >= roles.length - 1 : names.length === roles.length;
    if (!enough || names.length > roles.length) {
      const inFile = fileLayer === layer.name ? '' : ` (file layer '${fileLayer}')`;
      throw new ModelFormatError(
        `${file.label}: layer '${layer.name}' (${layer.className})${inFile} has ${names.length} stored weight(s) [${names.join(', ')}], the layer needs ${roles.length} [${roles.join(', ')}]`,
      );
    }
    result.set(layer.name, new Map(names.map((n, i) => [roles[i], file.tensor(`${prefix}${fileLayer}/${n}`)])));
  }
  return result;
}

/** Keras 3 layout (`.weights.h5`, `model.weights.h5` in `.keras`): `layers/<class_snake>[_N]/vars/<i>`, numbered per class. */
export function readKeras3Weights(file: Hdf5File, model: KerasModelConfig): LayerWeights {
  const result: LayerWeights = new Map();
  const perClass = new Map<string, number>();
  for (const layer of model.layers) {
    if (layer.index < 0 && model.className === 'Sequential') continue;
    const snake = toSnakeCase(layer.className);
    const count = perClass.get(snake) ?? 0;
    perClass.set(snake, count + 1);
    const names = positionalVariableNames(layer);
    if (names.length === 0) continue;
    let group = `layers/${count === 0 ? snake : `${snake}_${count}`}/vars`;
    // Newer Keras writes the layer name on each vars group; prefer it when it disagrees with the numbering.
    const named = file.attr(group, 'name');
    if (named !== undefined && named !== layer.name) {
      const match = file.keys('layers').map((k) => `layers/${k}/vars`).find((g) => file.attr(g, 'name') === layer.name);
      if (match) group = match;
    }
    if (!file.isGroup(group)) {
      if (layer.className === 'Normalization' && layer.config.mean != null) continue;
      throw new ModelFormatError(`${file.label}: no variables for layer '${layer.name}' (${layer.className}); expected group '${group}'`);
    }
    const positions = file.keys(group).map(Number).filter((n) => Number.isInteger(n)).sort((a, b) => a - b);
    if (positions.length === 0 && layer.className === 'Normalization' && layer.config.mean != null) continue;
    if (positions.length < names.length - (layer.className === 'Normalization' ? 1 : 0)) {
      throw new ModelFormatError(`${file.label}: layer '${layer.name}' (${layer.className}) has ${positions.length} variables in '${group}', expected ${names.length} (${names.join(', ')})`);
    }
    const vars = new Map<string, Hdf5Tensor>();
    positions.slice(0, names.length).forEach((p, i) => vars.set(names[i], file.tensor(`${group}/${p}`)));
    result.set(layer.name, vars);
  }
  return result;
}
