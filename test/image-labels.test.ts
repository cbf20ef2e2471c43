import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../src/errors.js';
import { parseNpy } from '../src/io/npy.js';
import { readImage } from '../src/image/decode.js';
import { classNames } from '../src/image/labels.js';
import { loadPixels } from '../src/image/load.js';

const weights = (name: string) => new URL(`../weights/${name}`, import.meta.url).pathname;

describe('class names', () => {
  it('weights/imagenet_classes.json: 1000 names in Keras\'s ImageNet index order (spot checks of imagenet_class_index.json)', () => {
    const names = classNames(readFileSync(weights('imagenet_classes.json'), 'utf8'), { classes: 1000 });
    expect(names.length).toBe(1000);
    // Indices as keras.applications.imagenet_utils.decode_predictions gives them (n01440764 tench, ...).
    expect([names[0], names[1], names[281], names[285], names[409], names[954], names[999]]).toEqual(['tench', 'goldfish', 'tabby', 'Egyptian cat', 'analog clock', 'banana', 'toilet tissue']);
    // Keras's file has two 'crane's and two 'maillot's; torchvision's names tell them apart.
    expect([names[134], names[517], names[638], names[639]]).toEqual(['crane bird', 'crane', 'maillot', 'maillot tank suit']);
    expect(new Set(names).size).toBe(1000);
  });

  it('an object with "class_names" (weights/fashion_reference.json) or a parsed array', () => {
    expect(classNames(readFileSync(weights('fashion_reference.json'), 'utf8'))[9]).toBe('Ankle boot');
    expect(classNames(['a', 'b', 3])).toEqual(['a', 'b', '3']);
  });

  it('bad class-name lists get a clear ImageError', () => {
    expect(() => classNames('{"names": [1]}', { name: 'x.json' })).toThrow(ImageError);
    expect(() => classNames('{"names": [1]}', { name: 'x.json' })).toThrow(/x\.json: expected a JSON array of class names or an object with a "class_names" array/);
    expect(() => classNames('[1, 2', { name: 'x.json' })).toThrow(/x\.json: not valid JSON/);
    expect(() => classNames('null')).toThrow(/expected a JSON array/);
    expect(() => classNames(['a', { b: 1 }])).toThrow(/entry 1 is \{"b":1\}, not a name/);
    expect(() => classNames(['a', 'b'], { classes: 10 })).toThrow(/2 class names for a model with 10 classes/);
  });
});

describe('bundled images', () => {
  it('fashion_sample.png is weights/fashion_sample.npy * 255, a 28 x 28 grey PNG', async () => {
    const image = await readImage(weights('images/fashion_sample.png'));
    expect([image.width, image.height, image.channels]).toEqual([28, 28, 1]);
    const sample = parseNpy(readFileSync(weights('fashion_sample.npy')));
    const grey = loadPixels(image, { colorMode: 'grayscale' });
    grey.data.forEach((v, i) => expect(Math.abs(v / 255 - sample.data[i])).toBeLessThan(1e-6));
  });

  it('cat.jpg (451 x 300) and cat.png (224 x 224) are colour photos', async () => {
    const jpg = await readImage(weights('images/cat.jpg'));
    const png = await readImage(weights('images/cat.png'));
    expect([jpg.format, jpg.width, jpg.height, jpg.channels]).toEqual(['jpeg', 451, 300, 3]);
    expect([png.format, png.width, png.height, png.channels]).toEqual(['png', 224, 224, 3]);
  });
});
