import { ModelFormatError } from '../errors.js';
import type { Graph } from './ir.js';

/**
 * Refuses a graph whose parameters are not all finite: a NaN or infinite weight (a corrupt
 * file, or a BatchNormalization with a negative variance) would only surface later as a NaN
 * heatmap. Runs after canonicalisation, so folded parameters are checked too.
 */
export function checkFiniteParameters(graph: Graph, label: string): void {
  for (const node of graph.nodes) {
    const arrays: [string, Float32Array | undefined][] = node.op === 'conv2d' || node.op === 'depthwise'
      ? [['kernel', node.kernel], ['bias', node.bias]]
      : node.op === 'affine' ? [['scale', node.scale], ['shift', node.shift]] : [];
    for (const [role, values] of arrays) {
      const bad = values ? firstNonFinite(values) : -1;
      if (bad >= 0) {
        throw new ModelFormatError(`${label}: layer '${node.kerasName}' has a non-finite ${node.op === 'affine' ? `${node.source} ` : ''}${role} value (${values![bad]} at index ${bad})`);
      }
    }
  }
}

/** A plain loop: findIndex with a callback costs several times as much over VGG16's 138 M weights. */
function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}
