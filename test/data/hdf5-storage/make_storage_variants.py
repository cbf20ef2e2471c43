"""Writes storage_variants.h5 and user_block.h5: float datasets in every storage form the loader
meets, to check which ones it reads in place from the file's bytes and which through h5wasm
(test/hdf5-in-place.test.ts). Run with h5py 3: python make_storage_variants.py"""
import os

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
VALUES = (np.arange(24, dtype=np.float64).reshape(2, 3, 4) - 11.5) / 4  # exact in float16


def main():
    with h5py.File(os.path.join(HERE, "storage_variants.h5"), "w") as f:
        f["contiguous_f4"] = VALUES.astype("<f4")
        f["contiguous_f8"] = VALUES.astype("<f8")
        f["contiguous_f2"] = VALUES.astype("<f2")
        f["scalar_f4"] = np.float32(2.5)
        f["big_endian_f4"] = VALUES.astype(">f4")
        f.create_dataset("chunked_f4", data=VALUES.astype("<f4"), chunks=(1, 3, 4))
        f.create_dataset("gzip_f4", data=VALUES.astype("<f4"), chunks=(1, 3, 4), compression="gzip")
        # Compact layout: the values live inside the object header.
        space = h5py.h5s.create_simple(VALUES.shape)
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        h5py.h5d.create(f.id, b"compact_f4", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl).write(h5py.h5s.ALL, h5py.h5s.ALL, VALUES.astype("<f4"))
    with h5py.File(os.path.join(HERE, "user_block.h5"), "w", userblock_size=512) as f:
        f["contiguous_f4"] = VALUES.astype("<f4")


if __name__ == "__main__":
    main()
