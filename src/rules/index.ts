import { InputShapeError } from '../errors.js';
import type { Graph } from '../graph/ir.js';
import { checkLayerNames, COMPOSITE_METHODS, compositeLayerRules, STABILIZER, type CompositeMethod, type CompositeOptions } from './composites.js';
import { gradientRule } from './gradient.js';
import { rlrpRule } from './rlrp.js';
import type { RelevanceRule } from './types.js';
import { compositeRule, LAYER_RULES, type LayerRuleName } from './zennit.js';

export type Method = 'rlrp' | 'rlrp-plus' | 'gradient' | 'gradient-x-input' | CompositeMethod;
export const METHODS: readonly Method[] = ['rlrp', 'rlrp-plus', 'gradient', 'gradient-x-input', ...COMPOSITE_METHODS];
export { LAYER_RULES, type LayerRuleName };

export interface MethodOptions {
  /** R-LRP's Add split: 'product' (default) or 'ratio'. */
  skip?: 'product' | 'ratio';
  /** Epsilon rule's epsilon (default 1e-6, zennit's); every other rule uses zennit's stabiliser 1e-6. */
  epsilon?: number;
  /** Gamma rule's gamma (default 0.25). */
  gamma?: number;
  /** AlphaBeta's alpha and beta (default 2 and 1; alpha - beta must be 1). */
  alpha?: number;
  beta?: number;
  /** ZBox's lowest and highest model-input values: a number, or one per input channel. */
  low?: number | number[];
  high?: number | number[];
  /** Keras layer name to rule (lrp0, epsilon, zplus, alpha-beta, gamma, flat, wsquare, zbox), overriding the method's composite there. */
  rules?: Record<string, LayerRuleName>;
}

function checkNumber(name: string, value: unknown, min: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new InputShapeError(`${name} must be a finite number >= ${min}, got ${String(value)}`);
}

/** ZBox bounds: numbers or one per input channel, low <= high everywhere. */
function checkBounds(graph: Graph, low: unknown, high: unknown, why: string): void {
  if (low === undefined || high === undefined) throw new InputShapeError(`${why} needs the input bounds: options low and high`);
  const channels = graph.nodes[graph.input].shape.at(-1)!;
  const values = (name: string, b: unknown): number[] => {
    const list = typeof b === 'number' ? new Array<number>(channels).fill(b) : Array.isArray(b) ? (b as unknown[]) : undefined;
    if (!list || list.length !== channels || list.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
      throw new InputShapeError(`${name} must be a finite number or ${channels} finite numbers (one per input channel), got ${JSON.stringify(b)}`);
    }
    return list as number[];
  };
  const [l, h] = [values('low', low), values('high', high)];
  l.forEach((v, c) => { if (v > h[c]) throw new InputShapeError(`low (${v}) is above high (${h[c]})${channels > 1 ? ` for input channel ${c}` : ''}`); });
}

function ruleName(method: string, options: MethodOptions): string {
  const extras = (['epsilon', 'gamma', 'alpha', 'beta', 'low', 'high', 'rules'] as const).filter((k) => options[k] !== undefined).map((k) => `${k}=${JSON.stringify(options[k])}`);
  return extras.length ? `${method}(${extras.join(', ')})` : method;
}

/**
 * The rule for a method name. Unknown names and bad options (including a `rules` entry naming an
 * unknown layer or rule) fail here, before any GPU work.
 */
export function ruleFor(method: string, options: MethodOptions = {}, graph?: Graph): RelevanceRule {
  const skip = options.skip ?? 'product';
  if (skip !== 'product' && skip !== 'ratio') throw new InputShapeError(`skip must be 'product' or 'ratio', got '${String(skip)}'`);
  if (!(METHODS as readonly string[]).includes(method)) throw new InputShapeError(`unknown method '${method}' (available: ${METHODS.join(', ')})`);
  checkNumber('epsilon', options.epsilon, 0);
  checkNumber('gamma', options.gamma, 0);
  checkNumber('alpha', options.alpha, 1);
  checkNumber('beta', options.beta, 0);
  const alpha = options.alpha ?? 2;
  const beta = options.beta ?? 1;
  if (Math.abs(alpha - beta - 1) > 1e-12) throw new InputShapeError(`alpha - beta must be 1 (got alpha ${alpha}, beta ${beta})`);
  const rules = options.rules ?? {};
  if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) throw new InputShapeError('rules must map Keras layer names to rule names');
  const composite = (COMPOSITE_METHODS as readonly string[]).includes(method);
  if (Object.keys(rules).length > 0 && !composite) throw new InputShapeError(`rules: per-layer rules apply to the LRP methods (${COMPOSITE_METHODS.join(', ')}), not '${method}'`);
  switch (method) {
    case 'rlrp':
      return rlrpRule({ plus: false, skip });
    case 'rlrp-plus':
      return rlrpRule({ plus: true, skip });
    case 'gradient':
    case 'gradient-x-input':
      return gradientRule({ timesInput: method === 'gradient-x-input' });
    default: {
      if (!graph) throw new Error(`method '${method}' needs the model's graph`);
      checkLayerNames(graph, rules, LAYER_RULES);
      const zbox = method === 'zbox' || method === 'epsilon-gamma-box' ? `method '${method}'` : Object.values(rules).includes('zbox') ? "rule 'zbox'" : undefined;
      if (zbox) checkBounds(graph, options.low, options.high, zbox);
      const o: CompositeOptions = {
        epsilon: options.epsilon ?? 1e-6, gamma: options.gamma ?? 0.25, alpha, beta, low: options.low, high: options.high, rules,
      };
      return compositeRule(ruleName(method, options), graph, compositeLayerRules(graph, method as CompositeMethod, o), STABILIZER);
    }
  }
}
