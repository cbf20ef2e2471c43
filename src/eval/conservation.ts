import type { LayerRelevance } from '../model.js';

/**
 * Conservation: LRP's relevance total should stay what the seed put in at every layer. For one
 * sample, each layer's error is |sum R_layer - sum R_top| / |sum R_top| (the top being the
 * output layer, seeded with the one-hot of the target), and the same with |R|_1, which R-LRP's
 * rescaling conserves instead of the signed sum.
 */
export interface LayerConservation {
  name: string;
  /** Per sample. */
  sum: number[];
  l1: number[];
}

export function conservationErrors(layers: readonly LayerRelevance[], outputLayer: string): LayerConservation[] {
  const top = layers.find((l) => l.name === outputLayer) ?? layers[layers.length - 1];
  const relative = (v: number, ref: number) => Math.abs(v - ref) / Math.max(Math.abs(ref), 1e-12);
  return layers.map((l) => ({
    name: l.name,
    sum: l.sum.map((v, n) => relative(v, top.sum[n])),
    l1: l.l1.map((v, n) => relative(v, top.l1[n])),
  }));
}
