import type { Activation, Graph, GraphNode, Window } from '../graph/ir.js';
import { sizeOf } from '../graph/ir.js';

/**
 * Float64 CPU reference of every forward op, written for clarity rather than speed. Tests
 * compare the GPU kernels against it; it shares no code with the GPU path.
 */

export function activate(x: number, a: Activation): number {
  switch (a.kind) {
    case 'linear':
      return x;
    case 'relu': {
      const threshold = a.threshold ?? 0;
      let positive = x > threshold ? x : 0;
      if (a.maxValue !== undefined) positive = Math.min(Math.max(positive, 0), a.maxValue);
      return positive - (a.negativeSlope ?? 0) * Math.max(threshold - x, 0);
    }
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'tanh':
      return Math.tanh(x);
    case 'elu':
      return x > 0 ? x : (a.alpha ?? 1) * Math.expm1(x);
    case 'swish':
      return x / (1 + Math.exp(-x));
    case 'softplus':
      return Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0);
    case 'softmax':
      throw new Error('softmax is applied over a whole row, not element-wise');
  }
}

function softmaxRows(x: Float64Array, width: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length; r += width) {
    let max = -Infinity;
    for (let i = 0; i < width; i++) max = Math.max(max, x[r + i]);
    let sum = 0;
    for (let i = 0; i < width; i++) sum += (out[r + i] = Math.exp(x[r + i] - max));
    for (let i = 0; i < width; i++) out[r + i] /= sum;
  }
  return out;
}

/** Visits each output position and the input positions its window covers (inside the image only). */
function forEachWindow(
  batch: number, inH: number, inW: number, outH: number, outW: number, w: Window,
  visit: (n: number, oy: number, ox: number, cells: { ky: number; kx: number; iy: number; ix: number }[]) => void,
): void {
  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const cells = [];
        for (let ky = 0; ky < w.kernel[0]; ky++) {
          const iy = oy * w.strides[0] + ky * w.dilation[0] - w.pads[0];
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < w.kernel[1]; kx++) {
            const ix = ox * w.strides[1] + kx * w.dilation[1] - w.pads[2];
            if (ix < 0 || ix >= inW) continue;
            cells.push({ ky, kx, iy, ix });
          }
        }
        visit(n, oy, ox, cells);
      }
    }
  }
}

/** Spatial extent of a tensor as the ops see it: rank-3 is (H, W, C); anything else is (1, rows, last). */
function spatial(shape: number[]): [number, number, number] {
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  const c = shape[shape.length - 1];
  return [1, sizeOf(shape) / c, c];
}

export function referenceOp(node: GraphNode, inputs: Float64Array[], inputShapes: number[][], batch: number): Float64Array {
  const x = inputs[0];
  const outSize = sizeOf(node.shape) * batch;
  const out = new Float64Array(outSize);
  switch (node.op) {
    case 'input':
    case 'identity':
    case 'reshape':
      return Float64Array.from(x);
    case 'conv2d': {
      const [inH, inW, cin] = spatial(inputShapes[0]);
      const [outH, outW, cout] = spatial(node.shape);
      const [, kw] = node.window.kernel;
      const kernel = node.kernel.values();
      forEachWindow(batch, inH, inW, outH, outW, node.window, (n, oy, ox, cells) => {
        const o = ((n * outH + oy) * outW + ox) * cout;
        for (let co = 0; co < cout; co++) {
          let sum = node.bias ? node.bias[co] : 0;
          for (const { ky, kx, iy, ix } of cells) {
            const i = ((n * inH + iy) * inW + ix) * cin;
            const k = (ky * kw + kx) * cin * cout + co;
            for (let ci = 0; ci < cin; ci++) sum += x[i + ci] * kernel[k + ci * cout];
          }
          out[o + co] = activate(sum, node.activation);
        }
      });
      return out;
    }
    case 'depthwise': {
      const [inH, inW, c] = spatial(inputShapes[0]);
      const [outH, outW] = spatial(node.shape);
      const m = node.multiplier;
      const [, kw] = node.window.kernel;
      const kernel = node.kernel.values();
      forEachWindow(batch, inH, inW, outH, outW, node.window, (n, oy, ox, cells) => {
        for (let ci = 0; ci < c; ci++) {
          for (let j = 0; j < m; j++) {
            const co = ci * m + j;
            let sum = node.bias ? node.bias[co] : 0;
            for (const { ky, kx, iy, ix } of cells) sum += x[((n * inH + iy) * inW + ix) * c + ci] * kernel[((ky * kw + kx) * c + ci) * m + j];
            out[((n * outH + oy) * outW + ox) * c * m + co] = activate(sum, node.activation);
          }
        }
      });
      return out;
    }
    case 'pool': {
      const [inH, inW, c] = spatial(inputShapes[0]);
      const outH = node.global ? 1 : node.shape[0];
      const outW = node.global ? 1 : node.shape[1];
      forEachWindow(batch, inH, inW, outH, outW, node.window, (n, oy, ox, cells) => {
        for (let ci = 0; ci < c; ci++) {
          let acc = node.mode === 'max' ? -Infinity : 0;
          for (const { iy, ix } of cells) {
            const v = x[((n * inH + iy) * inW + ix) * c + ci];
            acc = node.mode === 'max' ? Math.max(acc, v) : acc + v;
          }
          // 'same' average pooling divides by the real cells only, as TensorFlow does.
          out[((n * outH + oy) * outW + ox) * c + ci] = node.mode === 'max' ? acc : acc / cells.length;
        }
      });
      return out;
    }
    case 'affine': {
      const c = node.scale.length;
      for (let i = 0; i < outSize; i++) out[i] = x[i] * node.scale[i % c] + node.shift[i % c];
      return out;
    }
    case 'activation':
      if (node.activation.kind === 'softmax') return softmaxRows(x, node.shape[node.shape.length - 1]);
      for (let i = 0; i < outSize; i++) out[i] = activate(x[i], node.activation);
      return out;
    case 'add':
      for (const input of inputs) for (let i = 0; i < outSize; i++) out[i] += input[i];
      return out;
    case 'concat': {
      const total = node.shape[node.shape.length - 1];
      const rows = outSize / total;
      let offset = 0;
      inputs.forEach((input, k) => {
        const width = inputShapes[k][inputShapes[k].length - 1];
        for (let r = 0; r < rows; r++) for (let i = 0; i < width; i++) out[r * total + offset + i] = input[r * width + i];
        offset += width;
      });
      return out;
    }
    case 'pad': {
      const [inH, inW, c] = inputShapes[0];
      const [outH, outW] = node.shape;
      const [top, , left] = node.pads;
      for (let n = 0; n < batch; n++) {
        for (let y = 0; y < inH; y++) {
          for (let xx = 0; xx < inW; xx++) {
            for (let ci = 0; ci < c; ci++) out[((n * outH + y + top) * outW + xx + left) * c + ci] = x[((n * inH + y) * inW + xx) * c + ci];
          }
        }
      }
      return out;
    }
  }
}

/** Runs the whole graph in float64; returns every node's output (batch first). */
export function referenceForward(graph: Graph, input: ArrayLike<number>, batch: number): Float64Array[] {
  const values: Float64Array[] = [];
  for (const node of graph.nodes) {
    const inputs = node.op === 'input' ? [Float64Array.from(input)] : node.inputs.map((i) => values[i]);
    values[node.id] = referenceOp(node, inputs, node.inputs.map((i) => graph.nodes[i].shape), batch);
  }
  return values;
}
