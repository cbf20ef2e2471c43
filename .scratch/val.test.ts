import { it } from 'vitest';
import { syntheticOnGpu } from '../test/helpers/gpu.js';
import { randomArray } from '../test/helpers/synthetic.js';
it('val', async () => {
  const { model, random } = await syntheticOnGpu(5, (m) => {
    const x = m.input([64, 64, 4]);
    return m.layer('Rescaling', { name: 'big_rescale', scale: 2, offset: 1 }, [x]);
  }, { maxComputeWorkgroupsPerDimension: 2 ** 31 - 1 });
  try { await model.predict(randomArray(random, 1100 * 64 * 64 * 4)); console.log('no error'); } catch (e) { console.log(String(e)); }
});
