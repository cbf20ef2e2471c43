"""Writes small weights-only legacy HDF5 files in the layout of the official Keras Applications
weights (Keras 1 era, e.g. vgg16_weights_tf_dim_ordering_tf_kernels.h5), plus Keras's own logits.

Layout of those files: root attributes `layer_names` (every layer, weightless ones too, each with
an empty `weight_names`), `backend`, `keras_version`; per layer a group holding its datasets,
listed in order by `weight_names`, named Keras-1 style (`<layer>_W_1:0`, `<layer>_b_1:0`,
`<bn>_running_mean_1:0`, ...), so a role cannot be read from a name: Keras pairs them by order.
The layer names in the file also differ from the architecture's, so layers pair by order too.

Usage (from the repository root):
    KERAS_BACKEND=jax .cache/venv/bin/python test/data/legacy-weights/make_legacy_weights.py

Writes, next to this script:
  model.json         the architecture (model.to_json())
  odd_names.h5       the weights, Keras 1 style as above
  chunked.h5         odd_names.h5 with layer_names split into layer_names0, layer_names1, as
                     Keras writes lists too long for one HDF5 attribute
  bad_count.h5       the same with one layer's bias left out (a weight-count mismatch)
  bad_shape.h5       the same with one kernel of the wrong shape
  inputs.npy         2 inputs [2, 8, 8, 3] float32
  logits.npy         Keras's pre-softmax outputs [2, 5] after loading odd_names.h5 with Keras's
                     own legacy loader (so Keras reads the file the way we must)
"""
import json
import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")
import h5py  # noqa: E402
import keras  # noqa: E402
from keras.src.legacy.saving import legacy_h5_format  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# Keras 1 variable suffixes, in the order Keras stores them (trainable, then non-trainable).
SUFFIXES = {
    "Conv2D": ["W", "b"],
    "DepthwiseConv2D": ["depthwise_W", "b"],
    "Dense": ["W", "b"],
    "BatchNormalization": ["gamma", "beta", "running_mean", "running_std"],
}


def build():
    keras.utils.set_random_seed(7)
    x_in = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", name="stem")(x_in)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = keras.layers.BatchNormalization(name="dw_bn")(x)
    x = keras.layers.ReLU(name="dw_relu")(x)
    x = keras.layers.Conv2D(6, 1, name="pw")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    out = keras.layers.Dense(5, activation="softmax", name="predictions")(x)
    model = keras.Model(x_in, out, name="legacy_weights_probe")
    rng = np.random.default_rng(7)
    for layer in model.layers:
        new = [rng.normal(0, 0.5, tuple(w.shape)).astype("float32") for w in layer.weights]
        if isinstance(layer, keras.layers.BatchNormalization):
            new[3] = rng.uniform(0.5, 2.0, new[3].shape).astype("float32")  # positive variance
        if new:
            layer.set_weights(new)
    return model


def write(path, model, drop_bias_of=None, reshape_kernel_of=None, chunked=False):
    with h5py.File(path, "w") as f:
        old_names = [f"{type(layer).__name__.lower()}_{i + 1}" for i, layer in enumerate(model.layers)]
        encoded = np.array([n.encode() for n in old_names])
        if chunked:
            f.attrs["layer_names0"], f.attrs["layer_names1"] = encoded[:4], encoded[4:]
        else:
            f.attrs["layer_names"] = encoded
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"1.2.2"
        # Groups created in reverse order: the order must come from layer_names, not the file.
        for layer, old in reversed(list(zip(model.layers, old_names))):
            g = f.create_group(old)
            weights = legacy_h5_format._legacy_weights(layer)
            suffixes = SUFFIXES.get(type(layer).__name__, [])
            names, values = [], []
            for w, suffix in zip(weights, suffixes):
                value = np.asarray(w.numpy())
                if layer.name == drop_bias_of and suffix == "b":
                    continue
                if layer.name == reshape_kernel_of and suffix == "W":
                    value = value.reshape(value.shape[0], value.shape[1], -1, 2)  # [1, 1, 4, 6] -> [1, 1, 12, 2]
                names.append(f"{old}_{suffix}_1:0")
                values.append(value)
            g.attrs["weight_names"] = np.array([n.encode() for n in names], dtype="S") if names else np.array([], dtype="S1")
            for n, v in zip(names, values):
                g.create_dataset(n, data=v)


def main():
    model = build()
    with open(os.path.join(HERE, "model.json"), "w") as f:
        f.write(json.dumps(json.loads(model.to_json()), indent=1, sort_keys=True) + "\n")
    write(os.path.join(HERE, "odd_names.h5"), model)
    write(os.path.join(HERE, "chunked.h5"), model, chunked=True)
    write(os.path.join(HERE, "bad_count.h5"), model, drop_bias_of="pw")
    write(os.path.join(HERE, "bad_shape.h5"), model, reshape_kernel_of="pw")

    # Keras reads the odd file into a fresh model with its own legacy loader: the logits come from
    # what Keras makes of the file, not from the weights we meant to write.
    keras.backend.clear_session()
    fresh = keras.models.model_from_json(open(os.path.join(HERE, "model.json")).read())
    with h5py.File(os.path.join(HERE, "odd_names.h5"), "r") as f:
        legacy_h5_format.load_weights_from_hdf5_group(f, fresh)
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        assert np.array_equal(a, b), "Keras did not read back the weights written"

    x = np.random.default_rng(8).normal(0, 1, (2, 8, 8, 3)).astype("float32")
    head = keras.layers.Dense(5, name="logits")
    out = head(fresh.get_layer("pool").output)
    head.set_weights(fresh.get_layer("predictions").get_weights())
    logits = keras.Model(fresh.input, out)
    np.save(os.path.join(HERE, "inputs.npy"), x)
    np.save(os.path.join(HERE, "logits.npy"), np.asarray(logits.predict(x, verbose=0), dtype="float32"))
    print("wrote", ", ".join(sorted(os.listdir(HERE))))


if __name__ == "__main__":
    main()
