import type { ConcatNode, PadNode } from '../../graph/ir.js';
import type { Dispatch } from '../../gpu/resources.js';
import { spatial, WG, type ForwardOp } from '../types.js';

/** Concatenate: each input is copied into its channel slice of the output. */
export const concatOp: ForwardOp<ConcatNode> = {
  fusesActivation: false,
  async record({ res, node, inputs, inputShapes, output, batch }) {
    const [h, w, outC] = spatial(node.shape);
    const pipeline = await res.pipeline('copy_region', { WG });
    const dispatches: Dispatch[] = [];
    let offset = 0;
    for (let k = 0; k < inputs.length; k++) {
      const inC = spatial(inputShapes[k])[2];
      const total = batch * h * w * inC;
      const params = res.uniform([total, h, w, inC, h, w, outC, 0, 0, offset], `${node.kerasName} params`);
      dispatches.push({ label: node.kerasName, pipeline, workgroups: res.grid(total, WG), bindGroup: res.bindGroup(pipeline, [inputs[k], output, params], node.kerasName) });
      offset += inC;
    }
    return dispatches;
  },
};

/** ZeroPadding2D: the input lands at (top, left) of a zeroed output. */
export const padOp: ForwardOp<PadNode> = {
  fusesActivation: false,
  async record({ res, node, inputs, inputShapes, output, batch }) {
    const [inH, inW, c] = spatial(inputShapes[0]);
    const [outH, outW] = spatial(node.shape);
    const total = batch * outH * outW * c;
    const pipeline = await res.pipeline('copy_region', { WG });
    const params = res.uniform([total, inH, inW, c, outH, outW, c, node.pads[0], node.pads[2], 0], `${node.kerasName} params`);
    return [{ label: node.kerasName, pipeline, workgroups: res.grid(total, WG), bindGroup: res.bindGroup(pipeline, [inputs[0], output, params], node.kerasName) }];
  },
};
