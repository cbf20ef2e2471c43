import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import type { Activation } from '../graph/ir.js';
import { shaderSources } from './shader-sources.gen.js';

export type Defines = Record<string, number | boolean | string>;

/** A float as a WGSL literal (always with a decimal point or exponent). */
export function f32Literal(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`cannot write ${x} as a WGSL f32 literal`);
  const text = String(Math.fround(x));
  return /[.eE]/.test(text) ? text : `${text}.0`;
}

/**
 * Returns the WGSL of shaders/<name>.wgsl with `//#include <name>` lines expanded and
 * `${DEFINE}` placeholders fed to wgsl-preprocessor (so `#if ${DEFINE}` selects variants).
 */
export function shaderCode(name: string, defines: Defines): string {
  const expand = (n: string): string => {
    const text = shaderSources[n];
    if (text === undefined) throw new Error(`no shader named '${n}'`);
    return text.replace(/^\/\/#include (\w+)\s*$/gm, (_, inc: string) => expand(inc));
  };
  const parts = expand(name).split(/\$\{(\w+)\}/);
  const strings = parts.filter((_, i) => i % 2 === 0);
  const values = parts.filter((_, i) => i % 2 === 1).map((key) => {
    if (!(key in defines)) throw new Error(`shader '${name}' needs define ${key}`);
    return defines[key];
  });
  return wgsl(Object.assign(strings, { raw: strings }) as unknown as TemplateStringsArray, ...values);
}

/** Defines that select `activate()` in activation_fn.wgsl. */
export function activationDefines(a: Activation): Defines {
  return {
    ACT_RELU: a.kind === 'relu', ACT_SIGMOID: a.kind === 'sigmoid', ACT_TANH: a.kind === 'tanh', ACT_ELU: a.kind === 'elu',
    ACT_SWISH: a.kind === 'swish', ACT_SOFTPLUS: a.kind === 'softplus',
    ACT_HAS_MAX: a.maxValue !== undefined, ACT_MAX: f32Literal(a.maxValue ?? 0), ACT_SLOPE: f32Literal(a.negativeSlope ?? 0),
    ACT_THRESHOLD: f32Literal(a.threshold ?? 0), ACT_ALPHA: f32Literal(a.alpha ?? 1),
  };
}
