import { sizeOf } from '../graph/ir.js';
import type { Dispatch } from '../gpu/resources.js';
import { convMessage } from '../ops/conv2d/relevance.js';
import type { ConvWeights } from '../ops/conv2d/index.js';
import { depthwiseMessage } from '../ops/depthwise/relevance.js';
import type { DepthwiseWeights } from '../ops/depthwise/index.js';
import { accumulateInto, applyActivation, type AffineWeights } from '../ops/elementwise/index.js';
import { activationGradient, affineMessage, inputModifier, productMessage } from '../ops/elementwise/relevance.js';
import { poolMessage } from '../ops/pool/relevance.js';
import { routeRelevance } from './routing.js';
import type { RelevanceContext, RelevanceRule } from './types.js';

/**
 * The gradient of the target logit by the chain rule backwards (zennit's Gradient attributor),
 * through the same transposed kernels as the LRP rules: they compute a * W^T g, and a = 1 gives
 * W^T g. Activations multiply by their derivative at the pre-activation, which the relevance
 * plan keeps (it is the output of the node before the activation). `timesInput`:
 * gradient x input, the product taken once the gradient at the model input is complete.
 */
export function gradientRule(options: { timesInput: boolean }): RelevanceRule {
  const name = options.timesInput ? 'gradient-x-input' : 'gradient';
  return {
    name,
    scratchCount: () => 1,
    async record(ctx: RelevanceContext, node): Promise<Dispatch[]> {
      const { res, batch } = ctx;
      const g = ctx.relevance(node.id);
      const count = batch * sizeOf(node.shape);
      const input = node.inputs[0];
      const inputShape = ctx.graph.nodes[input]?.shape;
      /** A tensor of ones shaped like the node's input, for the transposed kernels' a. */
      const ones = async () => {
        const out = ctx.scratch(0, input);
        return { out, dispatch: await inputModifier(res, `${node.kerasName} gradient`, batch * sizeOf(inputShape), 'ones', undefined, out) };
      };
      switch (node.op) {
        case 'input': {
          if (!options.timesInput) return [];
          const product = ctx.scratch(0, node.id);
          return [
            await productMessage(res, 'gradient x input', count, { rel: g, act: ctx.activation(node.id), out: product }, false),
            await applyActivation(res, 'gradient x input copy', count, { kind: 'linear' }, product, g),
          ];
        }
        case 'activation':
          return [await activationGradient(res, node.kerasName, count, node.activation, { rel: g, pre: ctx.activation(input), out: ctx.relevance(input) })];
        case 'add':
          return Promise.all(node.inputs.map((k) => accumulateInto(res, `${node.kerasName} gradient`, count, g, ctx.relevance(k))));
        case 'conv2d': {
          const a = await ones();
          return [a.dispatch, ...(await convMessage(res, node, ctx.weights.get(node.id) as ConvWeights, inputShape, batch, { rel: g, act: a.out, out: ctx.relevance(input) }, false, true))];
        }
        case 'depthwise': {
          const a = await ones();
          return [a.dispatch, await depthwiseMessage(res, node, ctx.weights.get(node.id) as DepthwiseWeights, inputShape, batch, { rel: g, act: a.out, out: ctx.relevance(input) }, false, true)];
        }
        case 'pool': {
          const a = await ones();
          return [a.dispatch, ...(await poolMessage(res, node, inputShape, batch, { rel: g, act: a.out, out: ctx.relevance(input), winners: ctx.winners(node.id) }, false, true))];
        }
        case 'affine': {
          const a = await ones();
          return [a.dispatch, await affineMessage(res, node, ctx.weights.get(node.id) as AffineWeights, count, { rel: g, act: a.out, out: ctx.relevance(input) }, false, true)];
        }
        default: {
          const routed = await routeRelevance(ctx, node);
          if (routed) return routed;
          throw new Error(`${name}: no gradient for op '${node.op}' (layer '${node.kerasName}')`);
        }
      }
    },
  };
}
