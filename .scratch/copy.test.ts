import { readFileSync } from 'node:fs';
import { it, expect } from 'vitest';
import { rewriteHdf5 } from '../test/helpers/hdf5-rewrite.js';
import { readKerasModel } from '../src/keras/load.js';
const files = ['weights/fashion_cnn.h5', 'weights/fashion_resnet.h5', ...['k3_mixed_seed11.weights.h5','k3_mixed_seed11.h5','k3_extras_seed12.h5'].map(f=>'/work/shared/fixtures/models/generated/'+f), '/work/shared/fixtures/models/KILNETA-CNN_MNIST/mnist_cnn.h5', '/work/shared/fixtures/models/innvestigate/LeNetWeights.h5', '/work/shared/fixtures/models/mlcommons-tiny/pretrainedResnet.h5','/work/shared/fixtures/models/Moonflower2022-MNIST-models/mnist_model.h5'];
it('copies', async () => {
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(f));
    const t0 = performance.now();
    const out = await rewriteHdf5(bytes, {});
    const t1 = performance.now();
    const cfg = f.endsWith('weights.h5') ? { config: f.replace('.weights.h5', '.json') } : f.includes('LeNet') ? { config: f.replace('.h5', '.arch.json') } : {};
    const a = await readKerasModel(bytes, cfg); const b = await readKerasModel(out, cfg);
    const t2 = performance.now();
    for (const [l, vars] of a.weights) for (const [r, t] of vars) expect(Array.from(b.weights.get(l)!.get(r)!.data)).toEqual(Array.from(t.data));
    console.log(f, bytes.length, out.length, (t1-t0).toFixed(0), ((t2-t1)/2).toFixed(0));
  }
});
