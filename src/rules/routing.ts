import type { GraphNode } from '../graph/ir.js';
import type { Dispatch } from '../gpu/resources.js';
import { copyRegion } from '../ops/copy/index.js';
import { accumulateInto } from '../ops/elementwise/index.js';
import { spatial } from '../ops/types.js';
import type { RelevanceContext } from './types.js';

/** Under LRP rules an activation's relevance reaches its input unchanged (RelevanceRule.passesThrough). */
export const passesActivations = (node: GraphNode): boolean => node.op === 'activation';

/**
 * Layers whose relevance is moved, never changed, under every LRP rule: activations and
 * reshapes pass it through (nothing to do where they share their input's buffer), Concatenate
 * slices it, ZeroPadding2D crops it.
 * Returns undefined for nodes that are not routing layers.
 */
export async function routeRelevance(ctx: RelevanceContext, node: GraphNode): Promise<Dispatch[] | undefined> {
  const { res, batch, graph } = ctx;
  const rel = ctx.relevance(node.id);
  switch (node.op) {
    case 'input':
      return [];
    case 'reshape':
    case 'activation':
      if (ctx.sharesInput(node.id)) return [];
      return [await accumulateInto(res, `${node.kerasName} relevance`, batch * node.shape.reduce((a, b) => a * b, 1), rel, ctx.relevance(node.inputs[0]))];
    case 'concat': {
      const out = spatial(node.shape);
      const dispatches: Dispatch[] = [];
      let channel = 0;
      for (const input of node.inputs) {
        const shape = spatial(graph.nodes[input].shape);
        dispatches.push(await copyRegion(res, `${node.kerasName} relevance`, batch, {
          region: shape, src: { shape: out, channel, top: 0, left: 0 }, dst: { shape, channel: 0, top: 0, left: 0 }, accumulate: true,
        }, rel, ctx.relevance(input)));
        channel += shape[2];
      }
      return dispatches;
    }
    case 'pad': {
      const shape = spatial(graph.nodes[node.inputs[0]].shape);
      return [await copyRegion(res, `${node.kerasName} relevance`, batch, {
        region: shape, src: { shape: spatial(node.shape), channel: 0, top: node.pads[0], left: node.pads[2] }, dst: { shape, channel: 0, top: 0, left: 0 }, accumulate: true,
      }, rel, ctx.relevance(node.inputs[0]))];
    }
    default:
      return undefined;
  }
}
