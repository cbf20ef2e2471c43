import { ModelFormatError, UnsupportedLayerError } from '../errors.js';

/**
 * Keras model configuration (Keras 2 `model_config`, Keras 3 `config.json`, `model.to_json()`)
 * normalised to one layer list with explicit inbound layer names.
 */
export interface KerasLayer {
  name: string;
  className: string;
  config: Record<string, unknown>;
  /** Names of the layers whose (single) output feeds this one, in argument order. */
  inbound: string[];
  /** Position in `model.layers`; -1 for an InputLayer that Sequential synthesises. */
  index: number;
}

export interface KerasModelConfig {
  name: string;
  className: 'Sequential' | 'Functional';
  layers: KerasLayer[];
  inputs: string[];
  outputs: string[];
}

type Json = Record<string, unknown>;

/** Far above any image classifier (EfficientNetB7 has about 800 layers); more is corrupt or hostile. */
const MAX_LAYERS = 20_000;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseModelJson(text: string, label: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${label}: model configuration is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(parsed)) throw new ModelFormatError(`${label}: model configuration is not a JSON object`);
  return parsed;
}

/** The per-sample input shape from an InputLayer or a first Sequential layer's config. */
function declaredInputShape(config: Json): (number | null)[] | undefined {
  for (const key of ['batch_shape', 'batch_input_shape']) {
    const v = config[key];
    if (Array.isArray(v)) return (v as (number | null)[]).slice(1);
  }
  if (Array.isArray(config.input_shape)) return config.input_shape as (number | null)[];
  return undefined;
}

/** Reads one inbound tensor reference in Keras 2 (`[name, node, tensor, kwargs]`) or Keras 3 (`__keras_tensor__`) form. */
function tensorRef(arg: unknown, layer: string, label: string): string {
  if (Array.isArray(arg) && typeof arg[0] === 'string') {
    if (arg[1] !== 0 || arg[2] !== 0) {
      throw new UnsupportedLayerError(`${label}: layer '${layer}' reads output ${arg[2]} of node ${arg[1]} of '${arg[0]}'; shared layers and multi-output layers are not supported`);
    }
    return arg[0];
  }
  if (isObject(arg) && arg.class_name === '__keras_tensor__' && isObject(arg.config)) {
    const history = arg.config.keras_history as unknown[];
    return tensorRef(history, layer, label);
  }
  throw new ModelFormatError(`${label}: layer '${layer}' has an unreadable inbound tensor ${String(JSON.stringify(arg)).slice(0, 200)}`);
}

function inboundNames(layer: Json, name: string, label: string): string[] {
  const nodes = layer.inbound_nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) return [];
  if (nodes.length > 1) {
    throw new UnsupportedLayerError(`${label}: layer '${name}' is called ${nodes.length} times; shared layers are not supported`);
  }
  const node = nodes[0];
  if (Array.isArray(node)) return node.map((arg) => tensorRef(arg, name, label)); // Keras 2
  if (isObject(node) && Array.isArray(node.args)) {
    const args = node.args.length === 1 && Array.isArray(node.args[0]) && !(typeof node.args[0][0] === 'string') ? node.args[0] : node.args;
    return (args as unknown[]).map((arg) => tensorRef(arg, name, label));
  }
  throw new ModelFormatError(`${label}: layer '${name}' has unreadable inbound_nodes`);
}

function endpointNames(value: unknown, label: string, what: string): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new ModelFormatError(`${label}: functional model has no ${what}`);
  const list = typeof value[0] === 'string' ? [value] : value;
  return (list as unknown[]).map((ref) => tensorRef(ref, what, label));
}

export function parseModelConfig(root: Json, label: string): KerasModelConfig {
  const className = String(root.class_name ?? '');
  const body = root.config;
  if (!isObject(body) || !Array.isArray(body.layers)) {
    throw new ModelFormatError(`${label}: model configuration has no layer list (class '${className}')`);
  }
  const modelName = String(body.name ?? 'model');
  const rawLayers = body.layers as unknown[];
  if (rawLayers.length > MAX_LAYERS) throw new ModelFormatError(`${label}: model configuration lists ${rawLayers.length} layers, more than the ${MAX_LAYERS} this library accepts`);
  const layers: KerasLayer[] = [];
  const names = new Set<string>();
  const add = (layer: KerasLayer) => {
    if (names.has(layer.name)) throw new ModelFormatError(`${label}: two layers are named '${layer.name}'`);
    names.add(layer.name);
    layers.push(layer);
  };

  if (className === 'Sequential') {
    let previous: string | undefined;
    let index = 0;
    rawLayers.forEach((raw, position) => {
      if (!isObject(raw) || !isObject(raw.config)) throw new ModelFormatError(`${label}: layer ${position} has no config`);
      const config = raw.config;
      const name = String(config.name ?? raw.name ?? `layer_${position}`);
      const cls = String(raw.class_name);
      if (position === 0 && cls !== 'InputLayer') {
        const shape = declaredInputShape(config) ?? (Array.isArray(body.build_input_shape) ? (body.build_input_shape as (number | null)[]).slice(1) : undefined);
        if (!shape) throw new ModelFormatError(`${label}: Sequential model declares no input shape (no InputLayer, no batch_input_shape on '${name}')`);
        previous = `${name}_input`;
        add({ name: previous, className: 'InputLayer', config: { batch_shape: [null, ...shape] }, inbound: [], index: -1 });
      }
      // Keras 3 Sequential.layers leaves the InputLayer out; variable numbering follows that list.
      const isInput = cls === 'InputLayer';
      add({ name, className: cls, config, inbound: previous ? [previous] : [], index: isInput ? -1 : index++ });
      previous = name;
    });
    if (!previous) throw new ModelFormatError(`${label}: Sequential model has no layers`);
    return { name: modelName, className: 'Sequential', layers, inputs: [layers[0].name], outputs: [previous] };
  }

  if (className === 'Functional' || className === 'Model') {
    rawLayers.forEach((raw, position) => {
      if (!isObject(raw) || !isObject(raw.config)) throw new ModelFormatError(`${label}: layer ${position} has no config`);
      const name = String(raw.name ?? raw.config.name);
      add({ name, className: String(raw.class_name), config: raw.config, inbound: inboundNames(raw, name, label), index: position });
    });
    const inputs = endpointNames(body.input_layers, label, 'input_layers');
    const outputs = endpointNames(body.output_layers, label, 'output_layers');
    for (const layer of layers) {
      for (const source of layer.inbound) {
        if (!names.has(source)) throw new ModelFormatError(`${label}: layer '${layer.name}' reads unknown layer '${source}'`);
      }
    }
    return { name: modelName, className: 'Functional', layers, inputs, outputs };
  }
  throw new UnsupportedLayerError(`${label}: model class '${className}' is not supported (expected Sequential or Functional)`);
}

