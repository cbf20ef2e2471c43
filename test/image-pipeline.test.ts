import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '../src/io/npy.js';
import { readImage } from '../src/image/decode.js';
import { heatmap } from '../src/image/heatmap.js';
import { loadPixels } from '../src/image/load.js';
import { modelInput } from '../src/image/preprocess.js';
import { readTexture, renderHeatmap } from '../src/image/render.js';
import { Model } from '../src/model.js';
import { testGpu } from './helpers/gpu.js';

const weights = (name: string) => new URL(`../weights/${name}`, import.meta.url).pathname;

// The bundled image through the whole pipeline: file -> model input -> relevance on the GPU ->
// heatmap texture, with no read-back of the relevance in between.
describe('image to heatmap on a bundled model', () => {
  it('fashion_sample.png with the unit preset is exactly weights/fashion_sample.npy; its R-LRP heatmap from explainOnGpu equals the CPU heatmap of explain', async () => {
    const image = await readImage(weights('images/fashion_sample.png'));
    const gpu = await testGpu();
    const model = await Model.load(weights('fashion_cnn.h5'), { gpu });
    try {
      const x = modelInput(image, model.info.inputShape, { preset: 'unit' });
      expect(Array.from(x)).toEqual(Array.from(parseNpy(readFileSync(weights('fashion_sample.npy'))).data));
      const onGpu = await model.explainOnGpu(x, { method: 'rlrp' });
      const onCpu = await model.explain(x, { method: 'rlrp' });
      const overlay = { image: loadPixels(image, { colorMode: 'grayscale' }), opacity: 0.6 };
      const texture = await renderHeatmap(gpu, onGpu.relevance, { shape: onGpu.shape }, { colormap: 'seismic', overlay });
      const rendered = await readTexture(gpu, texture);
      texture.destroy();
      onGpu.relevance.destroy();
      const reference = heatmap(onCpu.relevance, { shape: onCpu.shape }, { colormap: 'seismic', overlay });
      expect([rendered.width, rendered.height]).toEqual([28, 28]);
      let worst = 0;
      rendered.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - reference.data[i]))));
      // Same relevance (bit-identical passes), float32 vs float64 sums: overlay rounding and at most a colour step.
      console.log(`fashion_sample heatmap: GPU vs CPU worst channel difference ${worst}`);
      expect(worst).toBeLessThanOrEqual(4);
    } finally {
      model.destroy();
    }
  });
});
