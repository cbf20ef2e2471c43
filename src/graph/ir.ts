/**
 * The graph IR: nodes in topological order, each producing one tensor. Shapes are per
 * sample (batch dimension free), channels last (NHWC); a tensor is stored row-major.
 */

import type { Float32Source } from '../io/float32-source.js';

export type Shape = number[];

export type ActivationKind = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'elu' | 'swish' | 'softmax' | 'softplus';

export interface Activation {
  kind: ActivationKind;
  /** ReLU layer extras (Keras `ReLU(max_value, negative_slope, threshold)`); LeakyReLU uses negativeSlope. */
  maxValue?: number;
  negativeSlope?: number;
  threshold?: number;
  /** ELU alpha. */
  alpha?: number;
}

/** Explicit padding of a windowed op, TensorFlow 'same' semantics already applied. */
export interface Window {
  kernel: [number, number];
  strides: [number, number];
  dilation: [number, number];
  /** Zeros (conv) or ignored cells (pooling) before/after: top, bottom, left, right. */
  pads: [number, number, number, number];
}

interface NodeBase {
  id: number;
  /** Keras layer this node came from (several nodes may share one after canonicalisation). */
  kerasName: string;
  inputs: number[];
  shape: Shape;
}

export interface InputNode extends NodeBase { op: 'input' }
/**
 * Conv2D, and Dense as a 1x1 convolution over the last axis. Kernel layout [KH, KW, Cin, Cout].
 * Kernels may still be in the model file (Float32Source): the uploads read them run by run.
 */
export interface ConvNode extends NodeBase {
  op: 'conv2d';
  window: Window;
  kernel: Float32Source;
  bias?: Float32Array;
  inChannels: number;
  outChannels: number;
  activation: Activation;
  /** True for Dense layers (kept for rule selection by layer type). */
  dense: boolean;
}
/** DepthwiseConv2D. Kernel layout [KH, KW, C, M]; output channel c*M + m. */
export interface DepthwiseNode extends NodeBase {
  op: 'depthwise';
  window: Window;
  kernel: Float32Source;
  bias?: Float32Array;
  inChannels: number;
  multiplier: number;
  activation: Activation;
}
export interface PoolNode extends NodeBase {
  op: 'pool';
  mode: 'max' | 'avg';
  window: Window;
  /** Global pooling (window = whole image); the output shape says whether dims were kept. */
  global: boolean;
}
/** y = x * scale[c] + shift[c] over the last axis: BatchNormalization, Rescaling, Normalization. */
export interface AffineNode extends NodeBase {
  op: 'affine';
  scale: Float32Array;
  shift: Float32Array;
  source: 'batchnorm' | 'rescaling' | 'normalization';
}
export interface ActivationNode extends NodeBase { op: 'activation'; activation: Activation }
export interface AddNode extends NodeBase { op: 'add' }
/** Concatenation along the last axis. */
export interface ConcatNode extends NodeBase { op: 'concat' }
/** ZeroPadding2D: top, bottom, left, right. */
export interface PadNode extends NodeBase { op: 'pad'; pads: [number, number, number, number] }
/** Flatten, Reshape: same memory, new shape. */
export interface ReshapeNode extends NodeBase { op: 'reshape' }
/** Dropout and other inference-time identities; removed by canonicalisation. */
export interface IdentityNode extends NodeBase { op: 'identity' }

export type GraphNode = InputNode | ConvNode | DepthwiseNode | PoolNode | AffineNode | ActivationNode | AddNode | ConcatNode | PadNode | ReshapeNode | IdentityNode;
export type OpKind = GraphNode['op'];

export interface Graph {
  name: string;
  nodes: GraphNode[];
  input: number;
  output: number;
  /** The model ended in a softmax that was stripped: `output` holds logits. */
  outputSoftmax: boolean;
  /** Keras layer name to the node holding that layer's output (after its activation). */
  layerOutputs: Map<string, number>;
}

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export function consumers(graph: Graph): Map<number, number[]> {
  const map = new Map<number, number[]>(graph.nodes.map((n) => [n.id, []]));
  for (const node of graph.nodes) for (const input of node.inputs) map.get(input)!.push(node.id);
  return map;
}

/**
 * Nodes whose output is never negative whatever the input: after a ReLU without negative slope
 * (threshold >= 0), a sigmoid or softplus, and through pooling, padding with zeros, reshapes and
 * concatenations of such outputs. Rules use it to skip terms that multiply by min(x, 0).
 */
export function nonNegativeNodes(graph: Graph): Set<number> {
  const result = new Set<number>();
  for (const node of graph.nodes) {
    const inputsNonNegative = node.inputs.length > 0 && node.inputs.every((i) => result.has(i));
    const nonNegative = node.op === 'activation'
      ? (node.activation.kind === 'relu' && !node.activation.negativeSlope && (node.activation.threshold ?? 0) >= 0) || node.activation.kind === 'sigmoid' || node.activation.kind === 'softplus'
      : (node.op === 'pool' || node.op === 'pad' || node.op === 'reshape' || node.op === 'concat' || node.op === 'identity') && inputsNonNegative;
    if (nonNegative) result.add(node.id);
  }
  return result;
}
