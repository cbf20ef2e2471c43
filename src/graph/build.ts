import { InputShapeError, ModelFormatError, UnsupportedLayerError } from '../errors.js';
import type { KerasLayer } from '../keras/config.js';
import type { Float32Source } from '../io/float32-source.js';
import type { KerasModel } from '../keras/load.js';
import type { Activation, Graph, GraphNode, Shape, Window } from './ir.js';
import { sizeOf } from './ir.js';

/** Builds the raw (not yet canonical) graph from a Keras model, inferring and checking every shape. */

const SUPPORTED = [
  'InputLayer', 'Conv2D', 'DepthwiseConv2D', 'Dense', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D',
  'GlobalMaxPooling2D', 'BatchNormalization', 'Activation', 'ReLU', 'LeakyReLU', 'Softmax', 'Add', 'Concatenate', 'Flatten',
  'Reshape', 'Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'ZeroPadding2D', 'Rescaling', 'Normalization',
] as const;
export const SUPPORTED_LAYERS: ReadonlySet<string> = new Set(SUPPORTED);

const ALIASES: Record<string, Partial<Record<string, string>>> = {
  // Keras 2 / tf.keras spellings of the same classes.
  Convolution2D: { to: 'Conv2D' }, MaxPool2D: { to: 'MaxPooling2D' }, AvgPool2D: { to: 'AveragePooling2D' },
  GlobalAvgPool2D: { to: 'GlobalAveragePooling2D' }, GlobalMaxPool2D: { to: 'GlobalMaxPooling2D' },
};

export function canonicalClass(className: string): string {
  return ALIASES[className]?.to ?? className;
}

const ACTIVATIONS: Record<string, Activation> = {
  linear: { kind: 'linear' }, relu: { kind: 'relu' }, sigmoid: { kind: 'sigmoid' }, tanh: { kind: 'tanh' },
  elu: { kind: 'elu', alpha: 1 }, swish: { kind: 'swish' }, silu: { kind: 'swish' }, softmax: { kind: 'softmax' },
  softplus: { kind: 'softplus' }, relu6: { kind: 'relu', maxValue: 6 },
};

function where(layer: KerasLayer): string {
  return `layer '${layer.name}' (${layer.className}${layer.index >= 0 ? `, position ${layer.index}` : ''})`;
}

function parseActivation(value: unknown, layer: KerasLayer): Activation {
  const name = value == null ? 'linear' : typeof value === 'string' ? value : (value as { class_name?: string; config?: { name?: string } }).config?.name ?? (value as { class_name?: string }).class_name;
  const activation = ACTIVATIONS[String(name)];
  if (!activation) throw new UnsupportedLayerError(`${where(layer)}: activation '${String(name)}' is not supported (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
  return { ...activation };
}

/**
 * Bounds on what a configuration may declare, far above any real image classifier: a file
 * that claims more is corrupt or hostile, and is refused before anything is allocated.
 */
const MAX_DIM = 1 << 24;
const MAX_ELEMENTS_PER_SAMPLE = 2 ** 31;

/** A positive integer configuration value (filters, units, depth_multiplier), with MAX_DIM as a sanity bound. */
function count(value: unknown, layer: KerasLayer, key: string): number {
  if (!(Number.isSafeInteger(value) && (value as number) > 0 && (value as number) <= MAX_DIM)) {
    throw new ModelFormatError(`${where(layer)}: ${key} must be a positive integer (at most ${MAX_DIM}), got ${JSON.stringify(value)}`);
  }
  return value as number;
}

/** A finite number configuration value (epsilon, max_value, slopes). */
function finite(value: unknown, layer: KerasLayer, key: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ModelFormatError(`${where(layer)}: ${key} must be a finite number, got ${JSON.stringify(value)}`);
  return value;
}

function pair(value: unknown, layer: KerasLayer, key: string): [number, number] {
  const v = Array.isArray(value) ? value : [value, value];
  if (v.length !== 2 || !v.every((x) => Number.isInteger(x) && (x as number) > 0 && (x as number) <= MAX_DIM)) {
    throw new ModelFormatError(`${where(layer)}: ${key} must be one or two positive integers, got ${JSON.stringify(value)}`);
  }
  return [v[0] as number, v[1] as number];
}

/** TensorFlow window arithmetic: 'same' puts the odd extra pad after (bottom/right). */
function makeWindow(layer: KerasLayer, inShape: Shape, kernel: [number, number], strides: [number, number], dilation: [number, number], padding: unknown): { window: Window; outH: number; outW: number } {
  const [H, W] = inShape;
  const extent = (k: number, d: number) => (k - 1) * d + 1;
  let outH: number, outW: number;
  let pads: [number, number, number, number] = [0, 0, 0, 0];
  if (padding === 'same') {
    outH = Math.ceil(H / strides[0]);
    outW = Math.ceil(W / strides[1]);
    const ph = Math.max((outH - 1) * strides[0] + extent(kernel[0], dilation[0]) - H, 0);
    const pw = Math.max((outW - 1) * strides[1] + extent(kernel[1], dilation[1]) - W, 0);
    pads = [Math.floor(ph / 2), ph - Math.floor(ph / 2), Math.floor(pw / 2), pw - Math.floor(pw / 2)];
  } else if (padding === 'valid') {
    outH = Math.floor((H - extent(kernel[0], dilation[0])) / strides[0]) + 1;
    outW = Math.floor((W - extent(kernel[1], dilation[1])) / strides[1]) + 1;
  } else {
    throw new UnsupportedLayerError(`${where(layer)}: padding '${String(padding)}' is not supported (use 'same' or 'valid')`);
  }
  if (outH <= 0 || outW <= 0) {
    throw new InputShapeError(`${where(layer)}: input ${H}x${W} is smaller than the ${kernel[0]}x${kernel[1]} window; output would be ${outH}x${outW}`);
  }
  return { window: { kernel, strides, dilation, pads }, outH, outW };
}

function requireRank(layer: KerasLayer, shape: Shape, rank: number): void {
  if (shape.length !== rank) throw new InputShapeError(`${where(layer)}: expects a rank-${rank} input per sample (H, W, C), got shape [${shape.join(', ')}]`);
}

function requireChannelsLast(layer: KerasLayer): void {
  const format = layer.config.data_format;
  if (format != null && format !== 'channels_last') throw new UnsupportedLayerError(`${where(layer)}: data_format '${String(format)}' is not supported (channels_last only)`);
}

function requireLastAxis(layer: KerasLayer, shape: Shape): void {
  const axis = Array.isArray(layer.config.axis) ? (layer.config.axis as unknown[]) : [layer.config.axis ?? -1];
  if (axis.length !== 1 || !(axis[0] === -1 || axis[0] === shape.length)) {
    throw new UnsupportedLayerError(`${where(layer)}: axis ${JSON.stringify(layer.config.axis)} is not supported (last axis only)`);
  }
}

/** A layer's stored weight, checked against the shape the layer needs; still in the file when it was there. */
function storedWeight(model: KerasModel, layer: KerasLayer, role: string, expected: Shape): Float32Source {
  const tensor = model.weights.get(layer.name)?.get(role);
  if (!tensor) throw new ModelFormatError(`${model.label}: ${where(layer)} has no '${role}' weight in the file`);
  if (tensor.shape.length !== expected.length || tensor.shape.some((d, i) => d !== expected[i])) {
    throw new ModelFormatError(`${model.label}: ${where(layer)}: '${role}' has shape [${tensor.shape.join(', ')}], the layer needs [${expected.join(', ')}]`);
  }
  return tensor.data;
}

/** A (small, per-channel) weight's values in memory. */
function weight(model: KerasModel, layer: KerasLayer, role: string, expected: Shape): Float32Array {
  return storedWeight(model, layer, role, expected).values();
}

function perChannel(value: unknown, channels: number, layer: KerasLayer, key: string): Float32Array {
  const list = Array.isArray(value) ? (value as unknown[]).flat(Infinity as 1) : [value];
  if (!list.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new ModelFormatError(`${where(layer)}: ${key} must be finite numbers, got ${JSON.stringify(value).slice(0, 200)}`);
  if (list.length === 1) return new Float32Array(channels).fill(list[0] as number);
  if (list.length !== channels) throw new ModelFormatError(`${where(layer)}: ${key} has ${list.length} values for ${channels} channels`);
  return Float32Array.from(list as number[]);
}

export interface BuildOptions {
  /** Per-sample input shape, for models whose InputLayer leaves dimensions unknown. */
  inputShape?: Shape;
}

export function buildGraph(model: KerasModel, options: BuildOptions = {}): Graph {
  const { config } = model;
  if (config.inputs.length !== 1 || config.outputs.length !== 1) {
    throw new UnsupportedLayerError(`${model.label}: models with ${config.inputs.length} inputs and ${config.outputs.length} outputs are not supported (one each)`);
  }
  // Check every layer before any other work so the first error names an unsupported layer.
  for (const layer of config.layers) {
    const cls = canonicalClass(layer.className);
    if (!SUPPORTED_LAYERS.has(cls)) {
      throw new UnsupportedLayerError(`${model.label}: ${where(layer)} is not supported; supported layers: ${SUPPORTED.join(', ')}`);
    }
  }

  const nodes: GraphNode[] = [];
  const layerOutputs = new Map<string, number>();
  const byName = new Map(config.layers.map((l) => [l.name, l]));
  const visiting = new Set<string>();

  type NewNode = GraphNode extends infer N ? (N extends GraphNode ? Omit<N, 'id'> : never) : never;
  const emit = (node: NewNode): number => {
    const layer = byName.get(node.kerasName)!;
    if (!node.shape.every((d) => Number.isSafeInteger(d) && d > 0) || sizeOf(node.shape) > MAX_ELEMENTS_PER_SAMPLE) {
      throw new ModelFormatError(`${model.label}: ${where(layer)}: output shape [${node.shape.join(', ')}] is not a valid tensor shape (positive integers, at most ${MAX_ELEMENTS_PER_SAMPLE} values per sample)`);
    }
    const id = nodes.length;
    nodes.push({ ...node, id } as GraphNode);
    return id;
  };

  // Depth first without recursion: a hostile config may chain more layers than the call stack holds.
  const visit = (root: string): number => {
    const stack: KerasLayer[] = [];
    const next: number[] = [];
    const enter = (name: string) => {
      if (visiting.has(name)) throw new ModelFormatError(`${model.label}: layer '${name}' is part of a cycle`);
      const layer = byName.get(name);
      if (!layer) throw new ModelFormatError(`${model.label}: the model refers to a layer '${name}' that it does not define`);
      visiting.add(name);
      stack.push(layer);
      next.push(0);
    };
    if (!layerOutputs.has(root)) enter(root);
    while (stack.length > 0) {
      const top = stack.length - 1;
      const layer = stack[top];
      if (next[top] < layer.inbound.length) {
        const source = layer.inbound[next[top]++];
        if (!layerOutputs.has(source)) enter(source);
        continue;
      }
      stack.pop();
      next.pop();
      layerOutputs.set(layer.name, buildLayer(layer, layer.inbound.map((n) => layerOutputs.get(n)!)));
      visiting.delete(layer.name);
    }
    return layerOutputs.get(root)!;
  };

  const buildLayer = (layer: KerasLayer, inputs: number[]): number => {
    const c = layer.config;
    const cls = canonicalClass(layer.className);
    const shapes = inputs.map((i) => nodes[i].shape);
    const shape = shapes[0];
    const base = { kerasName: layer.name, inputs };
    if (cls !== 'InputLayer' && cls !== 'Add' && cls !== 'Concatenate' && inputs.length !== 1) {
      throw new ModelFormatError(`${where(layer)}: expects one input, has ${inputs.length}`);
    }
    switch (cls) {
      case 'InputLayer': {
        const batchShape = c.batch_shape ?? c.batch_input_shape;
        if (batchShape != null && !(Array.isArray(batchShape) && batchShape.every((d) => d === null || typeof d === 'number'))) {
          throw new ModelFormatError(`${where(layer)}: batch_shape ${JSON.stringify(batchShape).slice(0, 200)} is not a list of dimensions`);
        }
        const declared = (batchShape as (number | null)[] | undefined)?.slice(1);
        const dims = options.inputShape ?? declared;
        if (!dims || dims.some((d) => d == null || !(Number.isSafeInteger(d) && d > 0))) {
          throw new InputShapeError(`${where(layer)}: input shape [${(declared ?? []).map((d) => d ?? 'None').join(', ')}] is not fully known; pass inputShape`);
        }
        if (options.inputShape && declared && declared.some((d, i) => d != null && d !== options.inputShape![i])) {
          throw new InputShapeError(`${where(layer)}: inputShape [${options.inputShape.join(', ')}] contradicts the model's [${declared.map((d) => d ?? 'None').join(', ')}]`);
        }
        return emit({ ...base, op: 'input', shape: dims as number[] });
      }
      case 'Conv2D': {
        requireRank(layer, shape, 3);
        requireChannelsLast(layer);
        if (c.groups != null && c.groups !== 1) throw new UnsupportedLayerError(`${where(layer)}: grouped convolution (groups=${String(c.groups)}) is not supported`);
        const kernel = pair(c.kernel_size, layer, 'kernel_size');
        const filters = count(c.filters, layer, 'filters');
        const { window, outH, outW } = makeWindow(layer, shape, kernel, pair(c.strides ?? 1, layer, 'strides'), pair(c.dilation_rate ?? 1, layer, 'dilation_rate'), c.padding);
        if (window.strides.some((s) => s > 1) && window.dilation.some((d) => d > 1)) {
          throw new UnsupportedLayerError(`${where(layer)}: strides > 1 together with dilation_rate > 1 is not supported (Keras rejects it too)`);
        }
        const useBias = c.use_bias !== false;
        return emit({
          ...base, op: 'conv2d', shape: [outH, outW, filters], window, dense: false,
          kernel: storedWeight(model, layer, 'kernel', [...kernel, shape[2], filters]),
          bias: useBias ? weight(model, layer, 'bias', [filters]) : undefined,
          inChannels: shape[2], outChannels: filters, activation: parseActivation(c.activation, layer),
        });
      }
      case 'DepthwiseConv2D': {
        requireRank(layer, shape, 3);
        requireChannelsLast(layer);
        const kernel = pair(c.kernel_size, layer, 'kernel_size');
        const multiplier = count(c.depth_multiplier ?? 1, layer, 'depth_multiplier');
        const { window, outH, outW } = makeWindow(layer, shape, kernel, pair(c.strides ?? 1, layer, 'strides'), pair(c.dilation_rate ?? 1, layer, 'dilation_rate'), c.padding);
        const useBias = c.use_bias !== false;
        return emit({
          ...base, op: 'depthwise', shape: [outH, outW, shape[2] * multiplier], window,
          kernel: storedWeight(model, layer, 'kernel', [...kernel, shape[2], multiplier]),
          bias: useBias ? weight(model, layer, 'bias', [shape[2] * multiplier]) : undefined,
          inChannels: shape[2], multiplier, activation: parseActivation(c.activation, layer),
        });
      }
      case 'Dense': {
        const units = count(c.units, layer, 'units');
        const features = shape[shape.length - 1];
        const useBias = c.use_bias !== false;
        return emit({
          ...base, op: 'conv2d', shape: [...shape.slice(0, -1), units], dense: true,
          window: { kernel: [1, 1], strides: [1, 1], dilation: [1, 1], pads: [0, 0, 0, 0] },
          kernel: storedWeight(model, layer, 'kernel', [features, units]),
          bias: useBias ? weight(model, layer, 'bias', [units]) : undefined,
          inChannels: features, outChannels: units, activation: parseActivation(c.activation, layer),
        });
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        requireRank(layer, shape, 3);
        requireChannelsLast(layer);
        const size = pair(c.pool_size ?? 2, layer, 'pool_size');
        const strides = c.strides == null ? size : pair(c.strides, layer, 'strides');
        const { window, outH, outW } = makeWindow(layer, shape, size, strides, [1, 1], c.padding ?? 'valid');
        return emit({ ...base, op: 'pool', mode: cls === 'MaxPooling2D' ? 'max' : 'avg', global: false, window, shape: [outH, outW, shape[2]] });
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        requireRank(layer, shape, 3);
        requireChannelsLast(layer);
        const window: Window = { kernel: [shape[0], shape[1]], strides: [1, 1], dilation: [1, 1], pads: [0, 0, 0, 0] };
        const outShape = c.keepdims === true ? [1, 1, shape[2]] : [shape[2]];
        return emit({ ...base, op: 'pool', mode: cls === 'GlobalMaxPooling2D' ? 'max' : 'avg', global: true, window, shape: outShape });
      }
      case 'BatchNormalization': {
        requireLastAxis(layer, shape);
        const ch = shape[shape.length - 1];
        const eps = finite(c.epsilon ?? 1e-3, layer, 'epsilon');
        const gamma = c.scale === false ? new Float32Array(ch).fill(1) : weight(model, layer, 'gamma', [ch]);
        const beta = c.center === false ? new Float32Array(ch) : weight(model, layer, 'beta', [ch]);
        const mean = weight(model, layer, 'moving_mean', [ch]);
        const variance = weight(model, layer, 'moving_variance', [ch]);
        const scale = new Float32Array(ch);
        const shift = new Float32Array(ch);
        for (let i = 0; i < ch; i++) {
          const s = gamma[i] / Math.sqrt(variance[i] + eps);
          scale[i] = s;
          shift[i] = beta[i] - mean[i] * s;
        }
        return emit({ ...base, op: 'affine', shape, scale, shift, source: 'batchnorm' });
      }
      case 'Rescaling': {
        const ch = shape[shape.length - 1];
        return emit({ ...base, op: 'affine', shape, scale: perChannel(c.scale ?? 1, ch, layer, 'scale'), shift: perChannel(c.offset ?? 0, ch, layer, 'offset'), source: 'rescaling' });
      }
      case 'Normalization': {
        requireLastAxis(layer, shape);
        if (c.invert === true) throw new UnsupportedLayerError(`${where(layer)}: Normalization(invert=True) is not supported`);
        const ch = shape[shape.length - 1];
        const stored = model.weights.get(layer.name);
        const mean = c.mean != null ? perChannel(c.mean, ch, layer, 'mean') : weight(model, layer, 'mean', [ch]);
        const variance = c.variance != null ? perChannel(c.variance, ch, layer, 'variance') : (stored ? weight(model, layer, 'variance', [ch]) : undefined)!;
        const scale = new Float32Array(ch);
        const shift = new Float32Array(ch);
        for (let i = 0; i < ch; i++) {
          // Keras: (x - mean) / max(sqrt(variance), epsilon) with epsilon 1e-7.
          const s = 1 / Math.max(Math.sqrt(variance[i]), 1e-7);
          scale[i] = s;
          shift[i] = -mean[i] * s;
        }
        return emit({ ...base, op: 'affine', shape, scale, shift, source: 'normalization' });
      }
      case 'Activation':
        return emit({ ...base, op: 'activation', shape, activation: parseActivation(c.activation, layer) });
      case 'Softmax':
        requireLastAxis(layer, shape);
        return emit({ ...base, op: 'activation', shape, activation: { kind: 'softmax' } });
      case 'ReLU':
      case 'LeakyReLU': {
        const slope = finite(cls === 'LeakyReLU' ? (c.negative_slope ?? c.alpha ?? 0.3) : (c.negative_slope ?? 0), layer, 'negative_slope');
        const activation: Activation = { kind: 'relu' };
        if (c.max_value != null) activation.maxValue = finite(c.max_value, layer, 'max_value');
        if (slope !== 0) activation.negativeSlope = slope;
        if (c.threshold != null && finite(c.threshold, layer, 'threshold') !== 0) activation.threshold = c.threshold as number;
        return emit({ ...base, op: 'activation', shape, activation });
      }
      case 'Add': {
        if (inputs.length < 2) throw new ModelFormatError(`${where(layer)}: needs at least two inputs`);
        for (const s of shapes) {
          if (s.join() !== shape.join()) throw new InputShapeError(`${where(layer)}: input shapes differ ([${shapes.map((x) => x.join('x')).join('], [')}]); broadcasting Add is not supported`);
        }
        return emit({ ...base, op: 'add', shape });
      }
      case 'Concatenate': {
        const rank = shape.length;
        const axis = c.axis ?? -1;
        if (!(axis === -1 || axis === rank)) throw new UnsupportedLayerError(`${where(layer)}: concatenation on axis ${axis} is not supported (last axis only)`);
        for (const s of shapes) {
          if (s.length !== rank || s.slice(0, -1).join() !== shape.slice(0, -1).join()) {
            throw new InputShapeError(`${where(layer)}: input shapes [${shapes.map((x) => x.join('x')).join('], [')}] differ outside the last axis`);
          }
        }
        return emit({ ...base, op: 'concat', shape: [...shape.slice(0, -1), shapes.reduce((a, s) => a + s[rank - 1], 0)] });
      }
      case 'Flatten':
        return emit({ ...base, op: 'reshape', shape: [sizeOf(shape)] });
      case 'Reshape': {
        const target = c.target_shape;
        if (!Array.isArray(target) || !target.every((d) => Number.isSafeInteger(d) && (d === -1 || d > 0)) || target.filter((d) => d === -1).length > 1) {
          throw new ModelFormatError(`${where(layer)}: target_shape ${JSON.stringify(target)} is not a list of positive integers (with at most one -1)`);
        }
        const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
        const resolved = target.map((d) => (d === -1 ? sizeOf(shape) / known : d));
        if (sizeOf(resolved) !== sizeOf(shape) || !resolved.every(Number.isInteger)) {
          throw new InputShapeError(`${where(layer)}: cannot reshape [${shape.join(', ')}] to [${target.join(', ')}]`);
        }
        return emit({ ...base, op: 'reshape', shape: resolved });
      }
      case 'ZeroPadding2D': {
        requireRank(layer, shape, 3);
        requireChannelsLast(layer);
        const p = c.padding ?? 1;
        let pads: [number, number, number, number];
        if (typeof p === 'number') pads = [p, p, p, p];
        else if (Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'number')) pads = [p[0], p[0], p[1], p[1]];
        else if (Array.isArray(p) && p.length === 2 && p.every((x) => Array.isArray(x) && x.length === 2)) pads = [p[0][0], p[0][1], p[1][0], p[1][1]];
        else throw new ModelFormatError(`${where(layer)}: unreadable padding ${JSON.stringify(p)}`);
        if (!pads.every((x) => Number.isSafeInteger(x) && x >= 0 && x <= MAX_DIM)) throw new ModelFormatError(`${where(layer)}: padding ${JSON.stringify(p)} must be non-negative integers`);
        return emit({ ...base, op: 'pad', pads, shape: [shape[0] + pads[0] + pads[1], shape[1] + pads[2] + pads[3], shape[2]] });
      }
      default: // Dropout and friends: identities at inference.
        return emit({ ...base, op: 'identity', shape });
    }
  };

  const input = visit(config.inputs[0]);
  if (nodes[input].op !== 'input') throw new ModelFormatError(`${model.label}: model input '${config.inputs[0]}' is not an InputLayer`);
  const output = visit(config.outputs[0]);
  return { name: config.name, nodes, input, output, outputSoftmax: false, layerOutputs };
}

