import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/image/decode.js';
import { loadPixels } from '../src/image/load.js';
import { bytesOf, imageFile, imageRefs } from './helpers/image-refs.js';

describe('loadPixels equals keras.utils.load_img (Pillow 12 resize and convert)', () => {
  const cases = imageRefs.loadImg.map((c) => [`${c.source} ${c.colorMode} ${c.targetSize?.join('x') ?? 'own size'} ${c.interpolation}${c.keepAspectRatio ? ' centre-cropped' : ''}`, c] as const);
  it.each(cases)('%s: every byte', (_, c) => {
    const pixels = loadPixels(decodeImage(imageFile(c.source)), {
      colorMode: c.colorMode, targetSize: c.targetSize ?? undefined, interpolation: c.interpolation, keepAspectRatio: c.keepAspectRatio,
    });
    expect([pixels.height, pixels.width, pixels.channels]).toEqual(c.shape);
    expect(Array.from(pixels.data)).toEqual(Array.from(bytesOf(c.pixels)));
  });
});
