import { describe, expect, it } from 'vitest';
import { ImageError } from '../src/errors.js';
import { decodeImage } from '../src/image/decode.js';
import { loadPixels } from '../src/image/load.js';
import { modelInput, PRESETS, preprocess } from '../src/image/preprocess.js';
import { floatsOf, imageFile, imageRefs } from './helpers/image-refs.js';

const rgb = loadPixels(decodeImage(imageFile('rgb.png')));

describe('preprocessing presets', () => {
  it('the recorded input is rgb.png as float32', () => {
    expect(Array.from(floatsOf(imageRefs.preprocess.input))).toEqual(Array.from(rgb.data));
  });

  it.each(['caffe', 'tf', 'torch'] as const)('%s equals keras.applications.imagenet_utils.preprocess_input bit for bit', (preset) => {
    const ours = preprocess(rgb, preset);
    expect(Array.from(ours)).toEqual(Array.from(floatsOf(imageRefs.preprocess[preset])));
  });

  it('unit is x / 255 and raw is x (float32), for a batch of two', () => {
    const unit = preprocess([rgb, rgb], 'unit');
    const raw = preprocess([rgb, rgb], 'raw');
    expect(unit.length).toBe(2 * 5 * 7 * 3);
    rgb.data.forEach((v, i) => {
      expect(unit[i]).toBe(Math.fround(v / 255));
      expect(unit[i + rgb.data.length]).toBe(Math.fround(v / 255));
      expect(raw[i]).toBe(v);
    });
    // rgb.png's first two pixels are black and white.
    expect(Array.from(unit.subarray(0, 6))).toEqual([0, 0, 0, 1, 1, 1]);
  });

  it('modelInput loads, resizes and preprocesses as load_img + preprocess_input', () => {
    const photo = decodeImage(imageFile('photo.png'));
    const loaded = loadPixels(photo, { targetSize: [5, 7], interpolation: 'bilinear' });
    expect(Array.from(modelInput(photo, [5, 7, 3], { preset: 'caffe', interpolation: 'bilinear' }))).toEqual(Array.from(preprocess(loaded, 'caffe')));
    const grey = loadPixels(photo, { colorMode: 'grayscale', targetSize: [4, 4] });
    expect(Array.from(modelInput(photo, [4, 4, 1], { preset: 'unit' }))).toEqual(Array.from(preprocess(grey, 'unit')));
  });
});

describe('bad preprocessing input gets a clear ImageError', () => {
  const grey = decodeImage(imageFile('grey.png'));
  it('an unknown preset lists the valid ones', () => {
    expect(() => preprocess(rgb, 'imagenet')).toThrow(ImageError);
    expect(() => preprocess(rgb, 'imagenet')).toThrow(`unknown preprocessing preset 'imagenet' (valid: ${PRESETS.join(', ')})`);
  });
  it('a grey image for an RGB model is refused unless greyToRgb asks for the channel to be repeated', () => {
    expect(() => modelInput(grey, [5, 7, 3], { preset: 'caffe', name: 'grey.png' })).toThrow(/grey\.png is a greyscale image but the model takes 3-channel colour input; allow greyToRgb/);
    const repeated = modelInput(grey, [5, 7, 3], { preset: 'raw', greyToRgb: true });
    for (let p = 0; p < 35; p++) expect([repeated[p * 3], repeated[p * 3 + 1], repeated[p * 3 + 2]]).toEqual(new Array(3).fill(grey.data[p * 4]));
  });
  it('caffe and torch need three channels; images in a batch must agree in size; models must take images', () => {
    const g = loadPixels(grey, { colorMode: 'grayscale' });
    expect(() => preprocess(g, 'torch')).toThrow(/preset 'torch' works on 3-channel RGB images, not 1-channel ones/);
    const small = loadPixels(grey, { targetSize: [2, 2] });
    expect(() => preprocess([rgb, small], 'tf')).toThrow(/image 1 is 2 x 2 x 3, not 5 x 7 x 3 as image 0/);
    expect(() => modelInput(grey, [10], { preset: 'raw' })).toThrow(/takes input of shape \[10\], not an image/);
    expect(() => modelInput(grey, [5, 5, 2], { preset: 'raw' })).toThrow(/not an image/);
    expect(() => preprocess([], 'raw')).toThrow(/no images/);
    expect(() => loadPixels(grey, { targetSize: [0, 3] })).toThrow(/target size 0 x 3/);
    expect(() => loadPixels(grey, { interpolation: 'lanczos' as 'nearest' })).toThrow(/unknown interpolation 'lanczos' \(valid: nearest, bilinear, bicubic\)/);
    expect(() => loadPixels(grey, { colorMode: 'cmyk' as 'rgb' })).toThrow(/unknown colour mode 'cmyk'/);
  });
});
