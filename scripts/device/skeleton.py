# skeleton.py make SRC DST: copy an HDF5 file, replacing datasets over 64k elements by empty
#   placeholders that record shape and dtype.
# skeleton.py fill SRC DST: write the full file, placeholders filled with Glorot-uniform values
#   (Keras's default kernel initialiser), contiguous as h5py writes them.
import sys, h5py, numpy as np
mode, src, dst = sys.argv[1:4]
rng = np.random.default_rng(0)

def glorot(shape):
    if len(shape) >= 2:
        receptive = int(np.prod(shape[:-2]))
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    else:
        fan_in = fan_out = shape[0]
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return ((rng.random(shape, dtype=np.float32) * 2 - 1) * limit).astype(np.float32)

def walk(s, d):
    for k, v in s.attrs.items():
        d.attrs[k] = v
    for name, item in s.items():
        if isinstance(item, h5py.Group):
            walk(item, d.create_group(name))
        elif mode == 'make' and item.size > 65536:
            ds = d.create_dataset(name, shape=(0,), dtype=item.dtype)
            ds.attrs['__skeleton_shape__'] = np.array(item.shape, dtype=np.int64)
            for k, v in item.attrs.items():
                ds.attrs[k] = v
        elif mode == 'fill' and '__skeleton_shape__' in item.attrs:
            shape = tuple(int(x) for x in item.attrs['__skeleton_shape__'])
            ds = d.create_dataset(name, data=glorot(shape).astype(item.dtype))
            for k, v in item.attrs.items():
                if k != '__skeleton_shape__':
                    ds.attrs[k] = v
        else:
            ds = d.create_dataset(name, data=item[()])
            for k, v in item.attrs.items():
                ds.attrs[k] = v

with h5py.File(src, 'r') as s, h5py.File(dst, 'w') as d:
    walk(s, d)
