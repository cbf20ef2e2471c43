import { InputShapeError } from '../errors.js';
import { rlrpRule } from './rlrp.js';
import type { RelevanceRule } from './types.js';

export type Method = 'rlrp' | 'rlrp-plus';
export const METHODS: readonly Method[] = ['rlrp', 'rlrp-plus'];

export interface MethodOptions {
  /** R-LRP's Add split: 'product' (default) or 'ratio'. */
  skip?: 'product' | 'ratio';
}

/** The rule for a method name; unknown names and bad options fail before any GPU work. */
export function ruleFor(method: string, options: MethodOptions = {}): RelevanceRule {
  const skip = options.skip ?? 'product';
  if (skip !== 'product' && skip !== 'ratio') throw new InputShapeError(`skip must be 'product' or 'ratio', got '${String(skip)}'`);
  switch (method) {
    case 'rlrp':
      return rlrpRule({ plus: false, skip });
    case 'rlrp-plus':
      return rlrpRule({ plus: true, skip });
    default:
      throw new InputShapeError(`unknown method '${method}' (available: ${METHODS.join(', ')})`);
  }
}
