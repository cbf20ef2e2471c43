import { UnsupportedLayerError } from '../errors.js';
import type { AffineNode, ConvNode, DepthwiseNode, Graph, GraphNode } from './ir.js';
import { consumers } from './ir.js';

/**
 * Canonicalisers rewrite the graph before any pass, as zennit's do: each takes a graph and
 * returns an equivalent one. `canonicalize` applies them in order.
 */
export type Canonizer = (graph: Graph) => Graph;

/** Drops `drop` nodes, rewiring their consumers to their first input, and renumbers in order. */
function rebuild(graph: Graph, nodes: GraphNode[], drop: Set<number>): Graph {
  const alias = new Map<number, number>();
  const resolve = (id: number): number => {
    let current = id;
    while (drop.has(current)) current = alias.get(current)!;
    return current;
  };
  for (const node of nodes) if (drop.has(node.id)) alias.set(node.id, node.inputs[0]);
  const kept = nodes.filter((n) => !drop.has(n.id));
  const renumber = new Map(kept.map((n, i) => [n.id, i]));
  const out = kept.map((n) => ({ ...n, id: renumber.get(n.id)!, inputs: n.inputs.map((i) => renumber.get(resolve(i))!) }) as GraphNode);
  const layerOutputs = new Map([...graph.layerOutputs].map(([name, id]) => [name, renumber.get(resolve(id))!]));
  return { ...graph, nodes: out, input: renumber.get(resolve(graph.input))!, output: renumber.get(resolve(graph.output))!, layerOutputs };
}

/** Dropout-like identities and linear activations carry nothing at inference. */
export const removeIdentities: Canonizer = (graph) => {
  const drop = new Set(graph.nodes.filter((n) => n.op === 'identity' || (n.op === 'activation' && n.activation.kind === 'linear')).map((n) => n.id));
  return rebuild(graph, graph.nodes, drop);
};

/** Conv2D/Dense/DepthwiseConv2D with a fused activation become a linear node plus an activation node. */
export const splitActivations: Canonizer = (graph) => {
  const nodes: GraphNode[] = [];
  const moved = new Map<number, number>();
  let nextId = Math.max(...graph.nodes.map((n) => n.id)) + 1;
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((i) => moved.get(i) ?? i);
    if ((node.op === 'conv2d' || node.op === 'depthwise') && node.activation.kind !== 'linear') {
      nodes.push({ ...node, inputs, activation: { kind: 'linear' } });
      const act = nextId++;
      nodes.push({ id: act, op: 'activation', kerasName: node.kerasName, inputs: [node.id], shape: node.shape, activation: node.activation });
      moved.set(node.id, act);
    } else {
      nodes.push({ ...node, inputs } as GraphNode);
    }
  }
  const layerOutputs = new Map([...graph.layerOutputs].map(([name, id]) => [name, moved.get(id) ?? id]));
  return rebuild({ ...graph, layerOutputs, output: moved.get(graph.output) ?? graph.output }, nodes, new Set());
};

/**
 * BatchNormalization directly after a linear Conv2D/DepthwiseConv2D/Dense that feeds only it is
 * folded into that layer, computed in float64: W' = W*s, b' = b*s + t with s = g/sqrt(var+eps).
 */
export const foldBatchNorm: Canonizer = (graph) => {
  const users = consumers(graph);
  const layerOutputs = new Map(graph.layerOutputs);
  const nodes = graph.nodes.map((n) => ({ ...n }) as GraphNode);
  const drop = new Set<number>();
  for (const node of nodes) {
    if (node.op !== 'affine' || node.source !== 'batchnorm') continue;
    const target = nodes[node.inputs[0]];
    if ((target.op !== 'conv2d' && target.op !== 'depthwise') || target.activation.kind !== 'linear' || users.get(target.id)!.length !== 1) continue;
    fold(target, node);
    drop.add(node.id);
    // The folded node now yields the BatchNormalization's output, under both layer names.
    layerOutputs.forEach((id, name) => { if (id === target.id) layerOutputs.set(name, node.id); });
  }
  // Consumers of a dropped BN read the folded node (the BN's first input).
  return drop.size === 0 ? graph : rebuild({ ...graph, layerOutputs }, nodes, drop);
};

function fold(target: ConvNode | DepthwiseNode, bn: AffineNode): void {
  const channels = bn.scale.length;
  const { scale } = bn;
  // Computed as the kernel is read (by the checks and the upload), never held whole.
  target.kernel = target.kernel.map((w, i) => w * scale[i % channels]);
  const bias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) bias[c] = (target.bias ? target.bias[c] : 0) * bn.scale[c] + bn.shift[c];
  target.bias = bias;
}

/** A final softmax is stripped so that the output holds logits; a softmax elsewhere is unsupported. */
export const stripFinalSoftmax: Canonizer = (graph) => {
  for (const node of graph.nodes) {
    if (node.op === 'activation' && node.activation.kind === 'softmax' && node.id !== graph.output) {
      throw new UnsupportedLayerError(`softmax inside the network (layer '${node.kerasName}') is not supported; only a final softmax is`);
    }
  }
  const out = graph.nodes[graph.output];
  if (out.op !== 'activation' || out.activation.kind !== 'softmax') return graph;
  const rebuilt = rebuild(graph, graph.nodes, new Set([out.id]));
  return { ...rebuilt, outputSoftmax: true };
};

export const DEFAULT_CANONIZERS: Canonizer[] = [removeIdentities, splitActivations, foldBatchNorm, stripFinalSoftmax];

export function canonicalize(graph: Graph, canonizers: Canonizer[] = DEFAULT_CANONIZERS): Graph {
  return canonizers.reduce((g, c) => c(g), graph);
}
