"""Writes the reference data for the image tests (test/data/image/) and the colour-map tables
(src/image/colormap-tables.gen.ts), from Pillow, Keras and matplotlib themselves.

    KERAS_BACKEND=jax .cache/venv/bin/python scripts/image-references.py

Needs: pillow, matplotlib, scikit-image, keras (any backend), numpy. Python is only used to make
these files; the library never runs it. Everything is seeded, so a rerun rewrites the same files
(JPEG bytes depend on Pillow's libjpeg build, which is why their reference pixels come from
Pillow's own decoder of the very same bytes).
"""
import base64
import io
import json
import os

import numpy as np
import matplotlib
from matplotlib import colormaps
from PIL import Image
from skimage import data as skdata

os.environ.setdefault('KERAS_BACKEND', 'jax')
import keras  # noqa: E402
from keras.applications import imagenet_utils  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.join(ROOT, 'test', 'data', 'image')
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(6)


def b64(array):
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode('ascii')


def save(name, image, **params):
    image.save(os.path.join(OUT, name), **params)
    return os.path.join(OUT, name)


# ---- 1. Small files to decode, with the RGBA pixels they must decode to ---------------------
decoded = {}
h, w = 5, 7
rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
rgb[0, 0] = [0, 0, 0]
rgb[0, 1] = [255, 255, 255]
grey = rng.integers(0, 256, (h, w), dtype=np.uint8)
alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
files = {
    'rgb.png': Image.fromarray(rgb, 'RGB'),
    'grey.png': Image.fromarray(grey, 'L'),
    'grey-alpha.png': Image.merge('LA', [Image.fromarray(grey, 'L'), Image.fromarray(alpha, 'L')]),
    'rgba.png': Image.fromarray(np.dstack([rgb, alpha]), 'RGBA'),
}
palette_image = Image.fromarray(rng.integers(0, 4, (h, w), dtype=np.uint8), 'P')
palette_image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30])
palette_image.info['transparency'] = bytes([255, 128, 0, 255])
files['palette.png'] = palette_image
# A transparent colour key (tRNS) on grey and RGB images: Pillow keeps the keyed pixels' colour.
files['grey-key.png'] = Image.fromarray(grey, 'L')
files['rgb-key.png'] = Image.fromarray(rgb, 'RGB')
keys = {'palette.png': bytes([255, 128, 0, 255]), 'grey-key.png': int(grey[1, 2]), 'rgb-key.png': tuple(int(v) for v in rgb[0, 1])}
channels = {'palette.png': 4, 'grey-key.png': 2, 'rgb-key.png': 4}
for name, image in files.items():
    path = save(name, image, transparency=keys[name]) if name in keys else save(name, image)
    decoded[name] = {'width': w, 'height': h, 'channels': channels[name] if name in channels else {'RGB': 3, 'L': 1, 'LA': 2, 'RGBA': 4}[image.mode],
                     'rgba': b64(np.asarray(Image.open(path).convert('RGBA')))}

# 16-bit grey: Pillow keeps 16-bit samples ('I;16'); we document 8-bit output round(v * 255 / 65535).
grey16 = rng.integers(0, 65536, (h, w), dtype=np.uint16)
grey16[0, 0], grey16[0, 1] = 0, 65535
Image.fromarray(grey16, 'I;16').save(os.path.join(OUT, 'grey16.png'))
eight = np.floor(grey16.astype(np.float64) * 255 / 65535 + 0.5).astype(np.uint8)
decoded['grey16.png'] = {'width': w, 'height': h, 'channels': 1,
                         'rgba': b64(np.dstack([eight, eight, eight, np.full_like(eight, 255)]))}

# The photo the resize tests start from: a 23x17 crop of scikit-image's (public-domain) cat.
photo = skdata.chelsea()[100:117, 200:223]
save('photo.png', Image.fromarray(photo, 'RGB'))
photo_alpha = np.tile(np.linspace(0, 255, 23).astype(np.uint8), (17, 1))
photo_alpha[:, 3] = 0
save('photo-rgba.png', Image.fromarray(np.dstack([photo, photo_alpha]), 'RGBA'))

# JPEGs: the reference is Pillow's own decode (libjpeg-turbo); decoders differ in IDCT and
# chroma upsampling, so the tests compare with a tolerance.
for name, image, params in [
    ('photo-420.jpg', Image.fromarray(photo, 'RGB'), {'quality': 90, 'subsampling': 2}),
    ('photo-444.jpg', Image.fromarray(photo, 'RGB'), {'quality': 95, 'subsampling': 0}),
    ('grey.jpg', Image.fromarray(np.asarray(Image.fromarray(photo).convert('L')), 'L'), {'quality': 95}),
]:
    path = save(name, image, **params)
    reread = Image.open(path)
    decoded[name] = {'width': reread.width, 'height': reread.height, 'channels': 1 if reread.mode == 'L' else 3,
                     'rgba': b64(np.asarray(reread.convert('RGBA')))}

# ---- 2. keras.utils.load_img: colour mode, target size, interpolation, centre crop -----------
resize_cases = []
for source, mode, sizes, interpolations in [
    ('photo.png', 'rgb', [(5, 7), (11, 4), (26, 31)], ['nearest', 'bilinear', 'bicubic']),
    ('photo.png', 'grayscale', [(5, 7), (11, 4)], ['nearest', 'bilinear']),
    ('photo-rgba.png', 'rgba', [(5, 7), (11, 4)], ['nearest', 'bilinear']),
    ('photo-rgba.png', 'rgb', [(6, 6)], ['bilinear']),
    ('palette.png', 'rgb', [(3, 3)], ['bilinear']),
    ('grey.png', 'rgb', [(4, 9)], ['bilinear']),
    ('rgb-key.png', 'rgb', [(3, 4)], ['nearest']),
]:
    for size in sizes:
        for interpolation in interpolations:
            for keep in (False, True):
                image = keras.utils.load_img(os.path.join(OUT, source), color_mode=mode, target_size=size,
                                             interpolation=interpolation, keep_aspect_ratio=keep)
                pixels = np.asarray(image, dtype=np.uint8)
                resize_cases.append({'source': source, 'colorMode': mode, 'targetSize': list(size),
                                     'interpolation': interpolation, 'keepAspectRatio': keep,
                                     'shape': list(pixels.reshape(size[0], size[1], -1).shape), 'pixels': b64(pixels)})
# No target size: the image at its own size, only converted.
for source, mode in [('rgba.png', 'grayscale'), ('palette.png', 'rgb'), ('grey-alpha.png', 'rgba')]:
    pixels = np.asarray(keras.utils.load_img(os.path.join(OUT, source), color_mode=mode), dtype=np.uint8)
    resize_cases.append({'source': source, 'colorMode': mode, 'targetSize': None, 'interpolation': 'nearest',
                         'keepAspectRatio': False, 'shape': list(pixels.reshape(h, w, -1).shape), 'pixels': b64(pixels)})

# ---- 3. keras.applications.imagenet_utils.preprocess_input ----------------------------------
x = np.asarray(Image.open(os.path.join(OUT, 'rgb.png')), dtype=np.float32)[None]
presets = {mode: b64(imagenet_utils.preprocess_input(x.copy(), mode=mode).astype('<f4'))
           for mode in ('caffe', 'tf', 'torch')}
presets['input'] = b64(x.astype('<f4'))
presets['shape'] = list(x.shape)

# ---- 4. Colour maps: 256-entry tables and reference colours ---------------------------------
def zennit_palette(source):
    """zennit.cmap.ColorMap(source).palette(): a re-implementation of zennit's colour-map language
    for the built-in maps (comma-separated colours, optional 'index:' prefix in hex)."""
    nodes = []
    for item in source.split(','):
        index, _, colour = item.rpartition(':')
        digits = colour if len(colour) == 6 else ''.join(c * 2 for c in colour)
        nodes.append([int(index * (2 if len(index) == 1 else 1), 16) if index else None,
                      np.array([int(digits[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)])
    nodes[0][0] = 0 if nodes[0][0] is None else nodes[0][0]
    nodes[-1][0] = 255 if nodes[-1][0] is None else nodes[-1][0]
    known = [i for i, n in enumerate(nodes) if n[0] is not None]
    for a, b in zip(known, known[1:]):  # unindexed colours are spread evenly (indices truncated)
        for k in range(a + 1, b):
            t = (k - a) / (b - a)
            nodes[k][0] = int(nodes[a][0] * (1 - t) + nodes[b][0] * t)
    indices = np.array([0] + [n[0] for n in nodes] + [256])
    colours = np.stack([nodes[0][1]] + [n[1] for n in nodes] + [nodes[-1][1]])
    x = np.clip(np.linspace(0, 1, 256) * 255, 0, 255)
    at = np.searchsorted(indices[:-1], x, side='right')
    t = ((x - indices[at - 1]) / (indices[at] - indices[at - 1]))[:, None]
    rgb = (colours[at - 1] * (1 - t) + colours[at] * t) / 255
    return (rgb * 255).round(12).clip(0, 255).astype(np.uint8)


tables = {name: colormaps[name](np.arange(256), bytes=True)[:, :3] for name in ('bwr', 'seismic', 'hot', 'gray', 'viridis')}
tables['coldnhot'] = zennit_palette('0ff,00f,80:000,f00,ff0,fff')
with open(os.path.join(ROOT, 'src', 'image', 'colormap-tables.gen.ts'), 'w') as f:
    f.write('// Generated by scripts/image-references.py (matplotlib %s; coldnhot from zennit\'s definition).\n'
            '// 256 RGB entries per map, as hex. Do not edit.\n' % matplotlib.__version__)
    f.write('export const colormapTables = {\n')
    for name, table in tables.items():
        f.write('  %s: \'%s\',\n' % (name, table.astype(np.uint8).tobytes().hex()))
    f.write('} as const;\n')

values = np.concatenate([np.linspace(-1.2, 1.2, 49), [-1, 0, 1, 0.5 / 256, -0.5 / 256, 1 / 256, 0.99]])
norm = matplotlib.colors.Normalize(vmin=-1, vmax=1)
colormap_refs = {'values': values.tolist(),
                 'matplotlib': {name: colormaps[name](norm(values), bytes=True)[:, :3].tolist()
                                for name in ('bwr', 'seismic', 'hot', 'gray', 'viridis')}}

# ---- 5. A heatmap as matplotlib draws it: the golden PNG ------------------------------------
hh, ww = 12, 10
yy, xx = np.mgrid[0:hh, 0:ww]
relevance = np.stack([np.sin(xx / 2.0 + c) * np.cos(yy / 3.0 - c) * (1 + c) for c in range(3)], -1)
relevance = (relevance + rng.normal(0, 0.05, relevance.shape)).astype(np.float32)
summed = relevance.astype(np.float64).sum(-1)
scale = np.abs(summed).max()
import matplotlib.pyplot as plt  # noqa: E402
plt.imsave(os.path.join(OUT, 'golden-bwr.png'), summed, cmap='bwr', vmin=-scale, vmax=scale)
heatmap_refs = {'shape': [1, hh, ww, 3], 'relevance': b64(relevance.astype('<f4')),
                'percentile': {str(p): float(np.percentile(np.abs(summed), p)) for p in (50, 90, 99.5, 100)}}

with open(os.path.join(OUT, 'references.json'), 'w') as f:
    json.dump({'decoded': decoded, 'loadImg': resize_cases, 'preprocess': presets, 'colormaps': colormap_refs,
               'heatmap': heatmap_refs, 'versions': {'pillow': Image.__version__, 'keras': keras.__version__,
                                                     'matplotlib': matplotlib.__version__}}, f)
print('wrote', OUT)
