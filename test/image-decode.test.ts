import { describe, expect, it } from 'vitest';
import { ImageError } from '../src/errors.js';
import { decodeImage, readImage } from '../src/image/decode.js';
import { sniffImage } from '../src/image/sniff.js';
import { bytesOf, IMAGE_DATA, imageFile, imageRefs } from './helpers/image-refs.js';
import { rng } from './helpers/synthetic.js';

const PNGS = ['rgb.png', 'grey.png', 'grey-alpha.png', 'rgba.png', 'palette.png', 'grey16.png', 'grey-key.png', 'rgb-key.png'];
const JPEGS = ['photo-420.jpg', 'photo-444.jpg', 'grey.jpg'];

function maxDifference(a: Uint8Array, b: Uint8Array): number {
  let worst = 0;
  a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[i]))));
  return worst;
}

describe('decoding PNG and JPEG (Node)', () => {
  it.each(PNGS)('%s decodes to exactly the RGBA pixels Pillow reads', (name) => {
    const ref = imageRefs.decoded[name];
    const image = decodeImage(imageFile(name));
    expect([image.format, image.width, image.height, image.channels]).toEqual(['png', ref.width, ref.height, ref.channels]);
    expect(Array.from(image.data)).toEqual(Array.from(bytesOf(ref.rgba)));
  });

  // libjpeg-turbo (Pillow) and jpeg-js use different IDCTs and chroma upsampling: a few levels.
  it.each(JPEGS)('%s decodes to Pillow\'s pixels within 8 levels (mean within 1.5)', (name) => {
    const ref = imageRefs.decoded[name];
    const image = decodeImage(imageFile(name));
    expect([image.format, image.width, image.height, image.channels]).toEqual(['jpeg', ref.width, ref.height, ref.channels]);
    const expected = bytesOf(ref.rgba);
    expect(maxDifference(image.data, expected)).toBeLessThanOrEqual(8);
    const mean = image.data.reduce((s, v, i) => s + Math.abs(v - expected[i]), 0) / expected.length;
    expect(mean).toBeLessThan(1.5);
  });

  it('reads a file by path', async () => {
    const image = await readImage(`${IMAGE_DATA}/rgb.png`);
    expect([image.width, image.height]).toEqual([7, 5]);
  });
});

describe('bad image input gets a clear ImageError', () => {
  const png = imageFile('photo.png');
  const jpg = imageFile('photo-420.jpg');
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /not a PNG or JPEG image \(the file is empty\)/],
    ['text', new TextEncoder().encode('hello, world'), /not a PNG or JPEG image \(it starts with bytes 68 65 6c/],
    ['GIF', new TextEncoder().encode('GIF89a\x01\x00\x01\x00'), /not a PNG or JPEG image/],
    ['PNG cut inside the header', png.subarray(0, 20), /truncated PNG/],
    ['PNG cut inside the pixel data', png.subarray(0, png.length - 200), /could not decode the PNG data .*truncated or corrupt/],
    ['PNG with a flipped pixel byte (CRC)', (() => { const b = png.slice(); b[b.length - 40] ^= 0xff; return b; })(), /could not decode the PNG data/],
    ['JPEG cut before its frame header', jpg.subarray(0, 30), /truncated or corrupt JPEG \(no frame header\)/],
    ['JPEG cut inside the scan', jpg.subarray(0, jpg.length - 300), /could not decode the JPEG data/],
  ];
  it.each(cases)('%s', (_, bytes, message) => {
    expect(() => decodeImage(bytes, { name: 'x.img' })).toThrow(ImageError);
    expect(() => decodeImage(bytes, { name: 'x.img' })).toThrow(message);
  });

  it('absurd dimensions are refused from the header, before any pixel is allocated', () => {
    const header = png.slice(0, 33);
    const view = new DataView(header.buffer);
    view.setUint32(16, 1_000_000);
    view.setUint32(20, 1_000_000);
    expect(() => decodeImage(header)).toThrow(/1000000 x 1000000 pixels is more than the 67108864 allowed/);
    view.setUint32(16, 0);
    expect(() => sniffImage(header)).toThrow(/empty image \(0 x 1000000\)/);
    expect(() => decodeImage(png, { maxPixels: 100 })).toThrow(/23 x 17 pixels is more than the 100 allowed/);
  });

  it('a missing file or a folder names the path', async () => {
    await expect(readImage(`${IMAGE_DATA}/missing.png`)).rejects.toThrow(/missing\.png: no such image file/);
    await expect(readImage(IMAGE_DATA)).rejects.toThrow(/is a folder, not an image file/);
  });
});

describe('damaged files never crash the decoders', () => {
  // Seeded: 300 copies of each file with 1 to 8 random bytes replaced, or cut at a random length.
  it.each(['photo.png', 'palette.png', 'photo-420.jpg', 'grey.jpg'])('%s: every damaged copy decodes to its header\'s size or throws ImageError', (name) => {
    const original = imageFile(name);
    const random = rng(name.length * 7919);
    let refused = 0;
    for (let trial = 0; trial < 300; trial++) {
      let bytes = original.slice();
      if (trial % 3 === 0) bytes = bytes.subarray(0, Math.floor(random() * bytes.length));
      else for (let k = 1 + Math.floor(random() * 8); k > 0; k--) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      try {
        const image = decodeImage(bytes);
        expect(image.data.length).toBe(image.width * image.height * 4);
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(ImageError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(50);
  });
});
