import { it } from 'vitest';
import { syntheticOnGpu } from '../test/helpers/gpu.js';
import { randomArray } from '../test/helpers/synthetic.js';
it('speed', async () => {
  const { model, random } = await syntheticOnGpu(9, (m) => {
    const x = m.input([8, 8, 1]);
    const c = m.layer('Conv2D', { filters: 4, kernel_size: [3, 3], padding: 'same', activation: 'relu' }, [x], { kernel: [3, 3, 1, 4], bias: [4] });
    const p = m.layer('MaxPooling2D', { pool_size: [2, 2] }, [c]);
    const f = m.layer('Flatten', {}, [p]);
    return m.layer('Dense', { units: 10 }, [f], { kernel: [64, 10], bias: [10] });
  });
  const x = randomArray(random, 64);
  for (const method of ['rlrp', 'epsilon'] as const) {
    await model.explain(x, { method });
    const t = performance.now();
    for (let i = 0; i < 50; i++) await model.explain(x, { method });
    console.log(method, (performance.now() - t) / 50, model.gpuMemory());
  }
  let t = performance.now();
  for (let i = 0; i < 50; i++) await model.predict(x);
  console.log('predict', (performance.now() - t) / 50);
});
