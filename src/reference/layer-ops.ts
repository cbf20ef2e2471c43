import type { Activation, Graph, GraphNode, Window } from '../graph/ir.js';
import { sizeOf } from '../graph/ir.js';

/**
 * The float64 layer primitives the relevance rules are built from, as zennit builds its rules from
 * torch's forward and autograd: the linear part of a node re-run with modified parameters
 * (`linearForward`), and the vector-Jacobian product of a node (`vjp`, the transposed map).
 * CPU reference code, sharing nothing with the GPU path; written for clarity, fast enough for tests.
 */

/** Weights and bias of a parameterised node as rules modify them (zennit's ParamMod sees both). */
export interface Params {
  /** conv2d/depthwise: kernel in IR layout; affine: scale per channel. */
  weight: Float64Array;
  /** Per output channel (zeros where the layer has no bias); affine: shift. */
  bias: Float64Array;
}

/** Parameters of conv2d, depthwise and affine nodes; undefined for parameter-free ops. */
export function nodeParams(node: GraphNode): Params | undefined {
  switch (node.op) {
    case 'conv2d':
    case 'depthwise': {
      const channels = node.shape[node.shape.length - 1];
      return { weight: Float64Array.from(node.kernel.values()), bias: node.bias ? Float64Array.from(node.bias) : new Float64Array(channels) };
    }
    case 'affine':
      return { weight: Float64Array.from(node.scale), bias: Float64Array.from(node.shift) };
    default:
      return undefined;
  }
}

/** Rank-3 tensors are (H, W, C); anything else is (1, rows, last axis), as the forward reference reads them. */
function spatial(shape: number[]): [number, number, number] {
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  const c = shape[shape.length - 1];
  return [1, sizeOf(shape) / c, c];
}

/**
 * Connections of a windowed op for one sample: entry t joins output position out[t] to input
 * position inp[t] through kernel cell cell[t]. Per output position the entries run in row-major
 * window order (ky outer, kx inner), which is the tie order max pooling needs. Cells in the
 * padding are left out, so they never contribute and never win a max.
 */
interface Taps { out: Int32Array; inp: Int32Array; cell: Int32Array; count: Int32Array; outPositions: number; inPositions: number }

const tapCache = new WeakMap<GraphNode, Taps>();

function taps(node: GraphNode & { window: Window }, inShape: number[]): Taps {
  const cached = tapCache.get(node);
  if (cached) return cached;
  const [inH, inW] = spatial(inShape);
  const global = node.op === 'pool' && node.global;
  const [outH, outW] = global ? [1, 1] : spatial(node.shape);
  const w = node.window;
  const out: number[] = [], inp: number[] = [], cell: number[] = [];
  const count = new Int32Array(outH * outW);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      for (let ky = 0; ky < w.kernel[0]; ky++) {
        const iy = oy * w.strides[0] + ky * w.dilation[0] - w.pads[0];
        if (iy < 0 || iy >= inH) continue;
        for (let kx = 0; kx < w.kernel[1]; kx++) {
          const ix = ox * w.strides[1] + kx * w.dilation[1] - w.pads[2];
          if (ix < 0 || ix >= inW) continue;
          out.push(oy * outW + ox);
          inp.push(iy * inW + ix);
          cell.push(ky * w.kernel[1] + kx);
          count[oy * outW + ox]++;
        }
      }
    }
  }
  const result = { out: Int32Array.from(out), inp: Int32Array.from(inp), cell: Int32Array.from(cell), count, outPositions: outH * outW, inPositions: inH * inW };
  tapCache.set(node, result);
  return result;
}

const inShapes = (graph: Graph, node: GraphNode) => node.inputs.map((i) => graph.nodes[i].shape);

/** z = W x + b with the given parameters (the node's own where omitted); no activation. */
export function linearForward(graph: Graph, node: GraphNode, xs: Float64Array[], batch: number, params = nodeParams(node)): Float64Array {
  const x = xs[0];
  const z = new Float64Array(sizeOf(node.shape) * batch);
  switch (node.op) {
    case 'conv2d': {
      const t = taps(node, inShapes(graph, node)[0]);
      const { inChannels: cin, outChannels: cout } = node;
      const { weight, bias } = params!;
      for (let n = 0; n < batch; n++) {
        const zn = n * t.outPositions * cout, xn = n * t.inPositions * cin;
        for (let o = 0; o < t.outPositions; o++) for (let co = 0; co < cout; co++) z[zn + o * cout + co] = bias[co];
        for (let e = 0; e < t.out.length; e++) {
          const zo = zn + t.out[e] * cout, xi = xn + t.inp[e] * cin, k = t.cell[e] * cin * cout;
          for (let ci = 0; ci < cin; ci++) {
            const v = x[xi + ci];
            if (v === 0) continue; // only for speed (post-ReLU inputs are often 0)
            const row = k + ci * cout;
            for (let co = 0; co < cout; co++) z[zo + co] += v * weight[row + co];
          }
        }
      }
      return z;
    }
    case 'depthwise': {
      const t = taps(node, inShapes(graph, node)[0]);
      const { inChannels: c, multiplier: m } = node;
      const { weight, bias } = params!;
      for (let n = 0; n < batch; n++) {
        const zn = n * t.outPositions * c * m, xn = n * t.inPositions * c;
        for (let o = 0; o < t.outPositions; o++) for (let co = 0; co < c * m; co++) z[zn + o * c * m + co] = bias[co];
        for (let e = 0; e < t.out.length; e++) {
          const zo = zn + t.out[e] * c * m, xi = xn + t.inp[e] * c, k = t.cell[e] * c * m;
          for (let ci = 0; ci < c * m; ci++) z[zo + ci] += x[xi + Math.floor(ci / m)] * weight[k + ci];
        }
      }
      return z;
    }
    case 'pool': {
      if (node.mode !== 'avg') throw new Error('max pooling has no linear forward');
      const t = taps(node, inShapes(graph, node)[0]);
      const c = node.shape[node.shape.length - 1];
      for (let n = 0; n < batch; n++) {
        for (let e = 0; e < t.out.length; e++) {
          const zo = (n * t.outPositions + t.out[e]) * c, xi = (n * t.inPositions + t.inp[e]) * c, w = 1 / t.count[t.out[e]];
          for (let ci = 0; ci < c; ci++) z[zo + ci] += x[xi + ci] * w;
        }
      }
      return z;
    }
    case 'affine': {
      const { weight, bias } = params!;
      const c = weight.length;
      for (let i = 0; i < z.length; i++) z[i] = x[i] * weight[i % c] + bias[i % c];
      return z;
    }
    case 'add':
      for (const input of xs) for (let i = 0; i < z.length; i++) z[i] += input[i];
      return z;
    default:
      throw new Error(`${node.op} is not a linear layer`);
  }
}

/** Index of the first maximum of every max-pooling window (row-major window order), per sample, output position and channel. */
export function maxWinners(graph: Graph, node: GraphNode & { window: Window }, x: Float64Array, batch: number): Int32Array {
  const t = taps(node, inShapes(graph, node)[0]);
  const c = node.shape[node.shape.length - 1];
  const winner = new Int32Array(batch * t.outPositions * c).fill(-1);
  const best = new Float64Array(winner.length).fill(-Infinity);
  for (let n = 0; n < batch; n++) {
    for (let e = 0; e < t.out.length; e++) {
      const o = (n * t.outPositions + t.out[e]) * c, i = (n * t.inPositions + t.inp[e]) * c;
      // Strictly greater: a later equal value never replaces the first maximum.
      for (let ci = 0; ci < c; ci++) if (x[i + ci] > best[o + ci]) { best[o + ci] = x[i + ci]; winner[o + ci] = i + ci; }
    }
  }
  return winner;
}

/** d act(x) / dx, with torch's conventions at the kinks (ReLU: 0 at 0; ReLU6: 0 at 0 and 6). */
export function activationDerivative(x: number, a: Activation): number {
  switch (a.kind) {
    case 'linear':
      return 1;
    case 'relu': {
      const threshold = a.threshold ?? 0;
      if (x <= threshold) return a.negativeSlope ?? 0;
      return a.maxValue !== undefined && x >= a.maxValue ? 0 : 1;
    }
    case 'sigmoid': {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 - s);
    }
    case 'tanh':
      return 1 - Math.tanh(x) ** 2;
    case 'elu':
      return x > 0 ? 1 : (a.alpha ?? 1) * Math.exp(x);
    case 'swish': {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 + x * (1 - s));
    }
    case 'softplus':
      return 1 / (1 + Math.exp(-x));
    case 'softmax':
      throw new Error('a softmax inside the network has no element-wise derivative');
  }
}

/**
 * Vector-Jacobian product: the gradient g at the node's output taken back to each of its inputs
 * (W^T g for linear layers, with `params` replacing the node's weights; routing for max pooling,
 * padding, concatenation, reshape). `inputs` are the values that entered the node in the forward pass.
 */
export function vjp(graph: Graph, node: GraphNode, inputs: Float64Array[], g: Float64Array, batch: number, params = nodeParams(node)): Float64Array[] {
  const shapes = inShapes(graph, node);
  const gx = new Float64Array(inputs.length ? inputs[0].length : 0);
  switch (node.op) {
    case 'input':
      return [];
    case 'identity':
    case 'reshape':
      return [Float64Array.from(g)];
    case 'conv2d': {
      const t = taps(node, shapes[0]);
      const { inChannels: cin, outChannels: cout } = node;
      const weight = params!.weight;
      for (let n = 0; n < batch; n++) {
        const gn = n * t.outPositions * cout, xn = n * t.inPositions * cin;
        for (let e = 0; e < t.out.length; e++) {
          const go = gn + t.out[e] * cout, xi = xn + t.inp[e] * cin, k = t.cell[e] * cin * cout;
          for (let ci = 0; ci < cin; ci++) {
            const row = k + ci * cout;
            let sum = 0;
            for (let co = 0; co < cout; co++) sum += weight[row + co] * g[go + co];
            gx[xi + ci] += sum;
          }
        }
      }
      return [gx];
    }
    case 'depthwise': {
      const t = taps(node, shapes[0]);
      const { inChannels: c, multiplier: m } = node;
      const weight = params!.weight;
      for (let n = 0; n < batch; n++) {
        const gn = n * t.outPositions * c * m, xn = n * t.inPositions * c;
        for (let e = 0; e < t.out.length; e++) {
          const go = gn + t.out[e] * c * m, xi = xn + t.inp[e] * c, k = t.cell[e] * c * m;
          for (let co = 0; co < c * m; co++) gx[xi + Math.floor(co / m)] += weight[k + co] * g[go + co];
        }
      }
      return [gx];
    }
    case 'pool': {
      const c = node.shape[node.shape.length - 1];
      if (node.mode === 'max') {
        const winner = maxWinners(graph, node, inputs[0], batch);
        for (let o = 0; o < winner.length; o++) if (winner[o] >= 0) gx[winner[o]] += g[o];
        return [gx];
      }
      const t = taps(node, shapes[0]);
      for (let n = 0; n < batch; n++) {
        for (let e = 0; e < t.out.length; e++) {
          const go = (n * t.outPositions + t.out[e]) * c, xi = (n * t.inPositions + t.inp[e]) * c, w = 1 / t.count[t.out[e]];
          for (let ci = 0; ci < c; ci++) gx[xi + ci] += g[go + ci] * w;
        }
      }
      return [gx];
    }
    case 'affine': {
      const weight = params!.weight;
      for (let i = 0; i < gx.length; i++) gx[i] = g[i] * weight[i % weight.length];
      return [gx];
    }
    case 'activation':
      for (let i = 0; i < gx.length; i++) gx[i] = g[i] * activationDerivative(inputs[0][i], node.activation);
      return [gx];
    case 'add':
      return inputs.map(() => Float64Array.from(g));
    case 'concat': {
      const total = node.shape[node.shape.length - 1];
      const rows = g.length / total;
      let offset = 0;
      return shapes.map((shape) => {
        const width = shape[shape.length - 1];
        const part = new Float64Array(rows * width);
        for (let r = 0; r < rows; r++) for (let i = 0; i < width; i++) part[r * width + i] = g[r * total + offset + i];
        offset += width;
        return part;
      });
    }
    case 'pad': {
      // The adjoint of zero padding is cropping.
      const [inH, inW, c] = shapes[0];
      const [outH, outW] = node.shape;
      const [top, , left] = node.pads;
      for (let n = 0; n < batch; n++) {
        for (let y = 0; y < inH; y++) {
          for (let x = 0; x < inW; x++) {
            for (let ci = 0; ci < c; ci++) gx[((n * inH + y) * inW + x) * c + ci] = g[((n * outH + y + top) * outW + x + left) * c + ci];
          }
        }
      }
      return [gx];
    }
  }
}
