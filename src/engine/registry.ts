import type { GraphNode, OpKind } from '../graph/ir.js';
import { conv2dOp } from '../ops/conv2d/index.js';
import { concatOp, padOp } from '../ops/copy/index.js';
import { depthwiseOp } from '../ops/depthwise/index.js';
import { activationOp, addOp, affineOp } from '../ops/elementwise/index.js';
import { poolOp } from '../ops/pool/index.js';
import type { ForwardOp } from '../ops/types.js';

/** Forward kernel per op kind. Input and reshape nodes have none: they alias memory. */
export const FORWARD_OPS: Partial<Record<OpKind, ForwardOp<GraphNode, unknown>>> = {
  conv2d: conv2dOp as ForwardOp<GraphNode, unknown>,
  depthwise: depthwiseOp as ForwardOp<GraphNode, unknown>,
  pool: poolOp as ForwardOp<GraphNode, unknown>,
  activation: activationOp as ForwardOp<GraphNode, unknown>,
  affine: affineOp as ForwardOp<GraphNode, unknown>,
  add: addOp as ForwardOp<GraphNode, unknown>,
  concat: concatOp as ForwardOp<GraphNode, unknown>,
  pad: padOp as ForwardOp<GraphNode, unknown>,
};
