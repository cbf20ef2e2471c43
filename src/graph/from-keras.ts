import type { ByteSource } from '../keras/source.js';
import { readKerasModel, type KerasLoadOptions, type KerasModel } from '../keras/load.js';
import { buildGraph, type BuildOptions } from './build.js';
import { canonicalize } from './canonicalize.js';
import type { Graph } from './ir.js';
import { checkFiniteParameters } from './validate.js';

export interface GraphLoadOptions extends KerasLoadOptions, BuildOptions {}

export function graphFromKeras(keras: KerasModel, options: BuildOptions = {}): Graph {
  const graph = canonicalize(buildGraph(keras, options));
  checkFiniteParameters(graph, keras.label);
  return graph;
}

/** Reads a Keras file and returns its canonical graph (and the raw Keras model for inspection). No GPU work. */
export async function loadGraph(source: ByteSource, options: GraphLoadOptions = {}): Promise<{ graph: Graph; keras: KerasModel }> {
  const keras = await readKerasModel(source, options);
  return { graph: graphFromKeras(keras, options), keras };
}
