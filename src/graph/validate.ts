import { ModelFormatError } from '../errors.js';
import { RUN_VALUES, Float32Source } from '../io/float32-source.js';
import type { Graph } from './ir.js';

/**
 * Refuses a graph whose parameters are not all finite: a NaN or infinite weight (a corrupt
 * file, or a BatchNormalization with a negative variance) would only surface later as a NaN
 * heatmap. Runs after canonicalisation, so folded parameters are checked too.
 */
export function checkFiniteParameters(graph: Graph, label: string): void {
  for (const node of graph.nodes) {
    const held = (values: Float32Array | undefined) => values && Float32Source.of(values);
    const arrays: [string, Float32Source | undefined][] = node.op === 'conv2d' || node.op === 'depthwise'
      ? [['kernel', node.kernel], ['bias', held(node.bias)]]
      : node.op === 'affine' ? [['scale', held(node.scale)], ['shift', held(node.shift)]] : [];
    for (const [role, values] of arrays) {
      const bad = values && firstNonFinite(values);
      if (bad) {
        throw new ModelFormatError(`${label}: layer '${node.kerasName}' has a non-finite ${node.op === 'affine' ? `${node.source} ` : ''}${role} value (${bad.value} at index ${bad.index})`);
      }
    }
  }
}

/**
 * The first value that is NaN or infinite, read run by run (a kernel still in the file is not
 * read whole). A plain loop: findIndex with a callback costs several times as much over VGG16's
 * 138 M weights.
 */
function firstNonFinite(values: Float32Source): { index: number; value: number } | undefined {
  let bad: { index: number; value: number } | undefined;
  values.forEachRun(RUN_VALUES, (run, start) => {
    if (bad) return;
    for (let i = 0; i < run.length; i++) {
      if (!Number.isFinite(run[i])) {
        bad = { index: start + i, value: run[i] };
        return;
      }
    }
  });
  return bad;
}
