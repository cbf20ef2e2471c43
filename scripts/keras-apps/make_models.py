"""Writes Keras Applications models with deterministic random weights, sample inputs and Keras's logits.

Usage: python make_models.py [OUT_DIR] [--models vgg16,vgg19,resnet50,mobilenet] [--force]

For each model, OUT_DIR gets <name>.h5 (legacy HDF5, via model.save), <name>.inputs.npy
(2 preprocessed 224x224x3 images, NHWC float32) and <name>.logits.npy (Keras's pre-softmax
outputs, [2, 1000] float32); manifest.json lists them. A model whose manifest entry matches
the current spec and whose files are all there with the recorded sizes is not regenerated:
the VGG files are ~550 MB each.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402  (the backend must be chosen before the import)

# Bump when the weights, inputs or logits this script writes change, to invalidate caches.
GENERATOR_VERSION = 1
BATCH = 2
SIZE = 224

ARCHS = {
    # name: (constructor, preprocess_input module, seed)
    "vgg16": (keras.applications.VGG16, keras.applications.vgg16, 16),
    "vgg19": (keras.applications.VGG19, keras.applications.vgg19, 19),
    "resnet50": (keras.applications.ResNet50, keras.applications.resnet50, 50),
    "mobilenet": (keras.applications.MobileNet, keras.applications.mobilenet, 1),
}


def fan_in(layer, kernel_shape):
    # Depthwise kernels are (kh, kw, C, multiplier): each output sees kh*kw inputs, not kh*kw*C.
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return kernel_shape[0] * kernel_shape[1]
    return int(np.prod(kernel_shape[:-1]))


def randomize(model, rng, calib):
    """He-normal kernels and small random biases keep ReLU activations O(1) through the depth
    without BatchNormalization (VGG). Each BatchNormalization gets random gamma/beta and moving
    statistics measured on `calib` at its input (in layer order, so after the layers before it
    are set): the stored mean and variance are then realistic and activations stay O(1) through
    ResNet's 16 residual additions, instead of growing or vanishing with depth."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            feats = np.asarray(keras.Model(model.input, layer.input)(calib, training=False))
            axes = tuple(range(feats.ndim - 1))
            mean, var = feats.mean(axis=axes), feats.var(axis=axes)
            c = mean.shape[0]
            gamma = rng.uniform(0.5, 1.5, c)
            beta = rng.normal(0.0, 0.2, c)
            # Moving stats off from the batch's by a few percent, so they are not exact by construction.
            layer.set_weights([w.astype("float32") for w in (gamma, beta, mean * rng.uniform(0.9, 1.1, c), var * rng.uniform(0.8, 1.2, c) + 1e-3)])
        elif layer.weights:
            new = []
            for w in layer.weights:
                shape = tuple(w.shape)
                if len(shape) >= 2:  # kernel
                    new.append(rng.normal(0.0, np.sqrt(2.0 / fan_in(layer, shape)), shape))
                else:  # bias
                    new.append(rng.normal(0.0, 0.05, shape))
            layer.set_weights([w.astype("float32") for w in new])


def logits_model(model):
    """The model up to (not including) its final softmax."""
    last = model.layers[-1]
    if isinstance(last, keras.layers.Dense):
        # Same Dense, softmax dropped: call a linear copy of it on its own input.
        head = keras.layers.Dense(last.units, activation=None, name="logits")
        out = head(last.input)
        head.set_weights(last.get_weights())
        return keras.Model(model.input, out)
    # MobileNet ends in Reshape -> Activation('softmax').
    assert isinstance(last, keras.layers.Activation), type(last)
    return keras.Model(model.input, last.input)


def spec_for(name):
    return {
        "arch": name, "seed": ARCHS[name][2], "input_shape": [BATCH, SIZE, SIZE, 3], "generator_version": GENERATOR_VERSION,
        "keras_version": keras.__version__, "backend": keras.backend.backend(),
    }


def files_ok(out, entry):
    return all(os.path.exists(os.path.join(out, f)) and os.path.getsize(os.path.join(out, f)) == size for f, size in entry["files"].items())


def make(name, out):
    ctor, module, seed = ARCHS[name]
    t0 = time.time()
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = ctor(weights=None, include_top=True, input_shape=(SIZE, SIZE, 3), classes=1000)
    # Random "photos": smooth blobs plus pixel noise in 0..255, then the model's own preprocess_input
    # (caffe BGR mean subtraction for VGG/ResNet, [-1, 1] for MobileNet).
    raw = rng.uniform(0, 255, (BATCH, 8, 8, 3)).repeat(SIZE // 8, 1).repeat(SIZE // 8, 2) * 0.7 + rng.uniform(0, 255 * 0.3, (BATCH, SIZE, SIZE, 3))
    x = module.preprocess_input(raw.astype("float32"))
    calib = module.preprocess_input(rng.uniform(0, 255, (4, SIZE, SIZE, 3)).astype("float32"))
    randomize(model, rng, calib)
    t1 = time.time()

    h5, xin, lg = f"{name}.h5", f"{name}.inputs.npy", f"{name}.logits.npy"
    model.save(os.path.join(out, h5))
    logits = np.asarray(logits_model(model).predict(x, verbose=0), dtype="float32")
    probs = np.asarray(model.predict(x, verbose=0))
    # The logits must be what the saved model's softmax consumes.
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    assert np.allclose(e / e.sum(axis=1, keepdims=True), probs, atol=1e-5), "logits do not reproduce the model's softmax"
    assert np.isfinite(logits).all(), "non-finite logits"
    np.save(os.path.join(out, xin), x.astype("float32"))
    np.save(os.path.join(out, lg), logits)
    t2 = time.time()
    files = {f: os.path.getsize(os.path.join(out, f)) for f in (h5, xin, lg)}
    print(f"{name}: {model.count_params():,} params, logits range [{logits.min():.3g}, {logits.max():.3g}], "
          f"top-1 {logits.argmax(1).tolist()}, build+init {t1 - t0:.1f}s, save+predict {t2 - t1:.1f}s", flush=True)
    return {
        "spec": spec_for(name), "file": h5, "inputs": xin, "logits": lg, "input_shape": list(x.shape),
        "logits_shape": list(logits.shape), "params": int(model.count_params()), "files": files,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", nargs="?", default=".cache/keras-apps")
    p.add_argument("--models", default=",".join(ARCHS))
    p.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "manifest.json")
    manifest = {"models": {}}
    if os.path.exists(path):
        with open(path) as f:
            manifest = json.load(f)
    for name in args.models.split(","):
        if name not in ARCHS:
            sys.exit(f"unknown model '{name}' (known: {', '.join(ARCHS)})")
        entry = manifest["models"].get(name)
        if not args.force and entry and entry["spec"] == spec_for(name) and files_ok(args.out, entry):
            print(f"{name}: cached", flush=True)
            continue
        manifest["models"][name] = make(name, args.out)
        manifest.update(keras_version=keras.__version__, backend=keras.backend.backend())
        # Written after each model, so an interrupted run keeps what it finished.
        with open(path + ".tmp", "w") as f:
            json.dump(manifest, f, indent=2)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
