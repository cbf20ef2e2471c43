import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../src/errors.js';
import { readKerasModel } from '../src/keras/load.js';
import { Model } from '../src/model.js';
import { readNpy } from './helpers/fixtures.js';
import { testGpu } from './helpers/gpu.js';

// Weights-only legacy HDF5 in the layout of the official Keras Applications files (Keras 1
// names such as `conv2d_2_W_1:0`, layer names that differ from the architecture's, weightless
// layers listed with an empty weight_names): written by test/data/legacy-weights/
// make_legacy_weights.py, whose logits come from Keras's own legacy loader reading the same file.
const DATA = join(dirname(fileURLToPath(import.meta.url)), 'data', 'legacy-weights');
const CONFIG = join(DATA, 'model.json');

describe('weights-only legacy HDF5 with Keras 1 weight names (the official Keras Applications layout)', () => {
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.destroy()));

  it("pairs layers and each layer's weights by order, as Keras does: logits match Keras's", async () => {
    const model = await Model.load(join(DATA, 'odd_names.h5'), { gpu: await testGpu(), config: CONFIG });
    models.push(model);
    expect(model.info.format).toBe('legacy-weights-h5');
    expect(model.info.kerasVersion).toBe('1.2.2');
    const x = readNpy(join(DATA, 'inputs.npy'));
    const want = readNpy(join(DATA, 'logits.npy'));
    const { logits, batch, classes } = await model.predict(x.data, x.shape);
    expect([batch, classes]).toEqual(want.shape);
    // Logits are O(1); float32 GPU vs Keras (jax, float32).
    for (let i = 0; i < want.data.length; i++) expect(Math.abs(logits[i] - want.data[i])).toBeLessThan(1e-4);
  });

  it('reads layer_names split into chunks (layer_names0, layer_names1), as Keras writes long lists', async () => {
    const model = await Model.load(join(DATA, 'chunked.h5'), { gpu: await testGpu(), config: CONFIG });
    models.push(model);
    const x = readNpy(join(DATA, 'inputs.npy'));
    const want = readNpy(join(DATA, 'logits.npy')).data;
    const { logits } = await model.predict(x.data, x.shape);
    for (let i = 0; i < want.length; i++) expect(Math.abs(logits[i] - want[i])).toBeLessThan(1e-4);
  });

  it("assigns roles by position: the BatchNormalization's 4th stored weight ('running_std') is its moving variance", async () => {
    const keras = await readKerasModel(join(DATA, 'odd_names.h5'), { config: CONFIG });
    expect([...keras.weights.get('stem_bn')!.keys()]).toEqual(['gamma', 'beta', 'moving_mean', 'moving_variance']);
    expect([...keras.weights.get('dw')!.keys()]).toEqual(['kernel', 'bias']);
    expect(keras.weights.get('pw')!.get('kernel')!.shape).toEqual([1, 1, 4, 6]);
  });

  it('a layer with a weight missing: an error naming the layer, the stored names and the roles it needs', async () => {
    const error = await readKerasModel(join(DATA, 'bad_count.h5'), { config: CONFIG }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toMatch(/layer 'pw' \(Conv2D\) \(file layer 'conv2d_8'\) has 1 stored weight\(s\) \[conv2d_8_W_1:0\], the layer needs 2 \[kernel, bias\]/);
  });

  it('a kernel of the wrong shape: an error naming the layer and both shapes', async () => {
    await expect(Model.load(join(DATA, 'bad_shape.h5'), { gpu: await testGpu(), config: CONFIG })).rejects.toThrow(/'pw'.*'kernel' has shape \[1, 1, 12, 2\], the layer needs \[1, 1, 4, 6\]/);
  });
});
