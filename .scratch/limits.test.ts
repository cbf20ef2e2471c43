import { it } from 'vitest';
import { testGpu } from '../test/helpers/gpu.js';
it('limits', async () => { const g = await testGpu(); console.log(g.limits, g.adapter); });
