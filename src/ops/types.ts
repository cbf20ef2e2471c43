import type { Activation, GraphNode, Shape } from '../graph/ir.js';
import type { Dispatch, GpuResources, TensorRef } from '../gpu/resources.js';

/** What a forward kernel needs to record its dispatches for one micro-batch. */
export interface RecordArgs<N extends GraphNode, W> {
  res: GpuResources;
  node: N;
  inputs: TensorRef[];
  inputShapes: Shape[];
  output: TensorRef;
  batch: number;
  /** Activation fused into this kernel's epilogue ('linear' when none). */
  activation: Activation;
  weights: W;
  /** Max pooling: also store each window's first maximum's index here (the relevance pass routes through it). */
  winners?: GPUBuffer;
}

/** One layer kind's forward pass: optional once-per-model weight upload, then dispatch recording. */
export interface ForwardOp<N extends GraphNode, W = undefined> {
  /** Whether an activation node right after this one can be fused into it. */
  fusesActivation: boolean;
  upload?(res: GpuResources, node: N): W;
  record(args: RecordArgs<N, W>): Promise<Dispatch[]>;
}

export const WG = 256;

/** Spatial view used by windowed kernels: rank-3 is (H, W, C), anything else (1, rows, last). */
export function spatial(shape: Shape): [number, number, number] {
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  const c = shape[shape.length - 1];
  return [1, shape.reduce((a, b) => a * b, 1) / c, c];
}
