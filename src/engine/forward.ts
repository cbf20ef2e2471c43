import { encodeDispatches, type PassTimer } from '../gpu/timer.js';
import { GpuError } from '../errors.js';
import type { Activation, Graph, GraphNode } from '../graph/ir.js';
import { consumers, sizeOf } from '../graph/ir.js';
import type { Gpu } from '../gpu/device.js';
import { GpuResources, type Dispatch, type TensorRef } from '../gpu/resources.js';
import { planMemory, type TensorLife } from './memory.js';
import { FORWARD_OPS } from './registry.js';
import { pooledValues } from '../ops/pool/index.js';

/** Weights of every node that has any, uploaded once per model. */
export type UploadedWeights = Map<number, unknown>;

export function uploadWeights(res: GpuResources, graph: Graph): UploadedWeights {
  const weights: UploadedWeights = new Map();
  for (const node of graph.nodes) {
    const op = FORWARD_OPS[node.op];
    if (op?.upload) weights.set(node.id, op.upload(res, node));
  }
  return weights;
}

/** The largest micro-batch whose every activation fits one storage binding. */
export function maxMicroBatch(gpu: Gpu, graph: Graph): number {
  const largest = graph.nodes.reduce((best, n) => (sizeOf(n.shape) > sizeOf(best.shape) ? n : best), graph.nodes[0]);
  const perSample = sizeOf(largest.shape) * 4;
  const fit = Math.floor(gpu.limits.maxStorageBufferBindingSize / perSample);
  if (fit < 1) {
    throw new GpuError(`layer '${largest.kerasName}' output [${largest.shape.join(', ')}] needs ${perSample} bytes per sample, more than the adapter's storage binding limit (${gpu.limits.maxStorageBufferBindingSize})`);
  }
  return fit;
}

interface Step {
  node: GraphNode;
  dispatches: Dispatch[];
}

/**
 * A forward pass compiled for a fixed micro-batch: activation buffers planned and bound,
 * every dispatch recorded once. `encode` replays them into a caller's command encoder.
 */
export class ForwardPlan {
  private constructor(
    private readonly res: GpuResources,
    private readonly steps: Step[],
    readonly tensors: Map<number, TensorRef>,
    readonly batch: number,
    readonly activationBytes: number,
    /** Per max-pooling node, the index of each window's first maximum (only with `keepWinners`). */
    readonly winners: Map<number, GPUBuffer>,
  ) {}

  /**
   * `retain`: nodes whose values must survive the pass (a relevance pass reads them);
   * `keepWinners`: max pooling also stores its windows' winners, which the relevance pass routes
   * through (found while pooling, rather than by a pass of its own).
   */
  static async compile(gpu: Gpu, graph: Graph, weights: UploadedWeights, batch: number, retain: ReadonlySet<number> = new Set(), keepWinners = false): Promise<ForwardPlan> {
    const users = consumers(graph);
    const kept = new Set([...retain, graph.output]);

    // Fuse an activation into the kernel before it when nothing else needs the pre-activation.
    const fusedInto = new Map<number, GraphNode>(); // activation node id -> producer
    const fusedActivation = new Map<number, Activation>(); // producer id -> activation
    for (const node of graph.nodes) {
      const next = users.get(node.id)!;
      if (!FORWARD_OPS[node.op]?.fusesActivation || next.length !== 1 || kept.has(node.id)) continue;
      const act = graph.nodes[next[0]];
      if (act.op !== 'activation' || act.activation.kind === 'softmax') continue;
      fusedInto.set(act.id, node);
      fusedActivation.set(node.id, act.activation);
    }

    // Storage roots: reshapes alias their input; a fused producer writes its activation's tensor.
    const root = new Map<number, number>();
    for (const node of graph.nodes) {
      if (node.op === 'reshape') root.set(node.id, root.get(node.inputs[0])!);
      else if (!fusedActivation.has(node.id)) root.set(node.id, node.id);
    }
    const kernelNodes = graph.nodes.filter((n) => n.op !== 'input' && n.op !== 'reshape' && !fusedInto.has(n.id));
    const stepOf = new Map(kernelNodes.map((n, i) => [n.id, i]));
    for (const [act, producer] of fusedInto) stepOf.set(act, stepOf.get(producer.id)!);

    const lives = new Map<number, TensorLife>();
    for (const node of graph.nodes) {
      if (root.get(node.id) !== node.id) continue;
      lives.set(node.id, { id: node.id, bytes: batch * sizeOf(node.shape) * 4, start: node.op === 'input' ? -1 : stepOf.get(node.id)!, end: -1 });
    }
    for (const node of graph.nodes) {
      for (const input of node.inputs) {
        const r = root.get(input);
        if (r === undefined) continue; // a fused producer's output is never materialised
        const life = lives.get(r)!;
        if (node.op !== 'reshape') life.end = Math.max(life.end, stepOf.get(node.id)!);
      }
      if (kept.has(node.id) && root.has(node.id)) lives.get(root.get(node.id)!)!.end = Infinity;
    }
    for (const life of lives.values()) if (life.end < life.start) life.end = life.start;

    const memory = planMemory([...lives.values()]);
    const res = new GpuResources(gpu);
    const slotBuffers = memory.slotBytes.map((bytes, i) => res.buffer(bytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, `activations slot ${i}`));
    const tensors = new Map<number, TensorRef>();
    for (const node of graph.nodes) {
      const r = root.get(node.id);
      if (r === undefined) continue;
      tensors.set(node.id, { buffer: slotBuffers[memory.slotOf.get(r)!], offset: 0, size: batch * sizeOf(node.shape) * 4 });
    }
    for (const [act, producer] of fusedInto) tensors.set(producer.id, tensors.get(act)!);

    const steps: Step[] = [];
    const winners = new Map<number, GPUBuffer>();
    try {
      for (const node of kernelNodes) {
        const op = FORWARD_OPS[node.op]!;
        if (keepWinners && node.op === 'pool' && node.mode === 'max') {
          winners.set(node.id, res.buffer(pooledValues(node, graph.nodes[node.inputs[0]].shape, batch) * 4, GPUBufferUsage.STORAGE, `${node.kerasName} winners`));
        }
        const dispatches = await op.record({
          res, node, batch, weights: weights.get(node.id),
          inputs: node.inputs.map((i) => tensors.get(i)!),
          inputShapes: node.inputs.map((i) => graph.nodes[i].shape),
          output: tensors.get(node.id)!,
          activation: fusedActivation.get(node.id) ?? { kind: 'linear' },
          winners: winners.get(node.id),
        });
        steps.push({ node, dispatches });
      }
    } catch (e) {
      res.destroy();
      throw e;
    }
    return new ForwardPlan(res, steps, tensors, batch, memory.slotBytes.reduce((a, b) => a + b, 0), winners);
  }

  /** Records every dispatch of the pass into `encoder`, timed as 'forward' (see encodeDispatches). */
  encode(encoder: GPUCommandEncoder, timer?: PassTimer, profile = false): void {
    encodeDispatches(encoder, this.steps.flatMap((s) => s.dispatches), 'forward', timer, profile);
  }

  get dispatchCount(): number {
    return this.steps.reduce((a, s) => a + s.dispatches.length, 0);
  }

  destroy(): void {
    this.res.destroy();
  }
}
