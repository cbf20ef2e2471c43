"""Writes the bundled images in weights/images/ (see weights/README.md for their licences).

    .cache/venv/bin/python scripts/make-bundled-images.py

cat.jpg / cat.png: scikit-image's data.chelsea() (public domain), the JPEG at its own 451 x 300,
the PNG centre-cropped to a square and resized to 224 x 224 (the ImageNet models' input).
fashion_sample.png: weights/fashion_sample.npy (Fashion-MNIST test image #0, values in [0, 1])
as a 28 x 28 8-bit grey PNG, pixel = round(value * 255); the .npy was made as pixel / 255, so
this gives the dataset's original bytes back.
"""
import os

import numpy as np
from PIL import Image
from skimage import data

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.join(ROOT, 'weights', 'images')
os.makedirs(OUT, exist_ok=True)

cat = data.chelsea()
Image.fromarray(cat).save(os.path.join(OUT, 'cat.jpg'), quality=90)
height, width = cat.shape[:2]
side = min(height, width)
top, left = (height - side) // 2, (width - side) // 2
square = Image.fromarray(cat[top:top + side, left:left + side]).resize((224, 224), Image.Resampling.BILINEAR)
square.save(os.path.join(OUT, 'cat.png'), optimize=True)

sample = np.load(os.path.join(ROOT, 'weights', 'fashion_sample.npy'))
pixels = np.round(sample.reshape(28, 28).astype(np.float64) * 255)
assert np.abs(pixels / 255 - sample.reshape(28, 28)).max() < 1e-6, 'fashion_sample.npy is not pixel / 255'
Image.fromarray(pixels.astype(np.uint8), 'L').save(os.path.join(OUT, 'fashion_sample.png'))
print('wrote', OUT)
