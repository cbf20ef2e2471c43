import { describe, expect, it } from 'vitest';
import { graphFromKeras } from '../src/graph/from-keras.js';
import { nonNegativeNodes } from '../src/graph/ir.js';
import { rng, SyntheticModel } from './helpers/synthetic.js';

// Which outputs can never be negative (the classical rules drop their min(x, 0) terms there).
describe('nonNegativeNodes', () => {
  it('ReLU without slope or with threshold >= 0, sigmoid, softplus, and pooling / padding / reshapes / concatenations of those only', () => {
    const m = new SyntheticModel(rng(3));
    const x = m.input([6, 6, 2]);
    const conv = (name: string, input: string) => m.layer('Conv2D', { name, filters: 2, kernel_size: [1, 1], strides: [1, 1], padding: 'same', dilation_rate: [1, 1], activation: 'linear', use_bias: true }, [input], { kernel: [1, 1, 2, 2], bias: [2] });
    const act = (name: string, config: Record<string, unknown>, className = 'Activation') => m.layer(className, { name, ...config }, [conv(`${name}_conv`, x)]);
    const relu = act('relu', { activation: 'relu' });
    const capped = act('capped', { max_value: 6, threshold: 0.5 }, 'ReLU');
    const leaky = act('leaky', { negative_slope: 0.1 }, 'LeakyReLU');
    const below = act('below', { threshold: -0.5 }, 'ReLU');
    const sigmoid = act('sigmoid', { activation: 'sigmoid' });
    const tanh = act('tanh', { activation: 'tanh' });
    const pooled = m.layer('MaxPooling2D', { name: 'pooled', pool_size: [2, 2] }, [relu]);
    const padded = m.layer('ZeroPadding2D', { name: 'padded', padding: [[1, 1], [1, 1]] }, [pooled]);
    const catPositive = m.layer('Concatenate', { name: 'cat_positive', axis: -1 }, [relu, capped, sigmoid]);
    const catMixed = m.layer('Concatenate', { name: 'cat_mixed', axis: -1 }, [relu, tanh, leaky, below]);
    const flat = m.layer('Flatten', { name: 'flat' }, [padded]);
    const heads = [catPositive, catMixed].map((c, i) => m.layer('Flatten', { name: `flat_${i}` }, [c]));
    const all = m.layer('Concatenate', { name: 'all', axis: -1 }, [flat, ...heads]);
    const graph = graphFromKeras(m.build(m.layer('Dense', { name: 'out', units: 3 }, [all], { kernel: [5 * 5 * 2 + 6 * 6 * 6 + 6 * 6 * 8, 3], bias: [3] })));
    const set = nonNegativeNodes(graph);
    const named = (name: string) => set.has(graph.layerOutputs.get(name)!);
    for (const name of ['relu', 'capped', 'sigmoid', 'pooled', 'padded', 'cat_positive', 'flat', 'flat_0']) expect(named(name), name).toBe(true);
    for (const name of ['leaky', 'below', 'tanh', 'cat_mixed', 'flat_1', 'all', 'out', 'relu_conv']) expect(named(name), name).toBe(false);
    expect(set.has(graph.input)).toBe(false);
  });
});
