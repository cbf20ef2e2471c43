"""Writes Keras Applications models with deterministic random weights, sample inputs and Keras's logits.

Usage: python make_models.py [OUT_DIR] [--models vgg16,vgg19,resnet50,mobilenet] [--force]

For each model, OUT_DIR gets <name>.h5 (legacy HDF5, via model.save), <name>.inputs.npy
(2 preprocessed 224x224x3 images, NHWC float32) and <name>.logits.npy (Keras's pre-softmax
outputs, [2, 1000] float32); manifest.json lists them. MobileNet (the smallest) also gets
<name>.legacy-weights.h5: the same weights as a weights-only legacy HDF5 written by Keras's own
legacy writer, the layout of the official ImageNet files, which the zoo loads with the
architecture in weights/zoo/<name>.json (test/zoo-apps.test.ts). A model whose manifest entry matches
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
import h5py  # noqa: E402
import keras  # noqa: E402  (the backend must be chosen before the import)
from keras.src.legacy.saving import legacy_h5_format  # noqa: E402

# Bump when the weights, inputs or logits this script writes change, to invalidate caches.
GENERATOR_VERSION = 2
BATCH = 2
SIZE = 224

ARCHS = {
    # name: (constructor, preprocess_input module, seed)
    "vgg16": (keras.applications.VGG16, keras.applications.vgg16, 16),
    "vgg19": (keras.applications.VGG19, keras.applications.vgg19, 19),
    "resnet50": (keras.applications.ResNet50, keras.applications.resnet50, 50),
    "mobilenet": (keras.applications.MobileNet, keras.applications.mobilenet, 1),
}
# Models that also get a weights-only legacy HDF5 (<name>.legacy-weights.h5).
LEGACY_WEIGHTS = {"mobilenet"}


def fan_in(layer, kernel_shape):
    # Depthwise kernels are (kh, kw, C, multiplier): each output sees kh*kw inputs, not kh*kw*C.
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return kernel_shape[0] * kernel_shape[1]
    return int(np.prod(kernel_shape[:-1]))


def randomize(model, rng, calib):
    """He-normal kernels (variance 2/fan_in) keep ReLU activations on the input's scale through
    VGG's depth, which has no BatchNormalization to rescale them. Each BatchNormalization gets
    random gamma/beta and moving statistics close to those of `calib` at its input, as a trained
    network's would be; arbitrary statistics would make ResNet's and MobileNet's activations
    vanish or explode with depth. Logits come out in the hundreds for VGG and ResNet (their
    caffe-preprocessed inputs span about +-128) and a few units for MobileNet (inputs in [-1, 1]):
    finite, and not saturating the softmax into one-hot."""
    bns = []
    # The first kernel also divides by the input's RMS (~70 after caffe preprocessing), so that
    # activations are O(1) from the first layer on.
    first_kernel = True
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            bns.append(layer)
        elif layer.weights:
            new = []
            for w in layer.weights:
                shape = tuple(w.shape)
                # float32 draws: VGG has 140M weights, and float64 ones take seconds more.
                z = rng.standard_normal(shape, dtype=np.float32)
                new.append(z * np.float32(np.sqrt(2.0 / fan_in(layer, shape)) if len(shape) >= 2 else 0.05))  # kernel | bias
            if first_kernel:
                new[0] /= np.float32(np.sqrt(np.mean(np.square(calib))))
                first_kernel = False
            layer.set_weights(new)

    # One eager forward pass sets every BatchNormalization from its input just before it runs
    # (a sub-model per layer would cost a pass per layer).
    def calibrating(layer, call):
        def wrapped(inputs, *args, **kwargs):
            feats = keras.ops.convert_to_numpy(inputs)
            axes = tuple(range(feats.ndim - 1))
            mean, var = feats.mean(axis=axes), feats.var(axis=axes)
            c = mean.shape[0]
            # Moving stats off from the batch's by a few percent, so they are not exact by construction.
            stats = (rng.uniform(0.5, 1.5, c), rng.normal(0.0, 0.2, c), mean * rng.uniform(0.9, 1.1, c), var * rng.uniform(0.8, 1.2, c) + 1e-3)
            layer.set_weights([w.astype("float32") for w in stats])
            return call(inputs, *args, **kwargs)
        return wrapped

    if not bns:
        return
    for layer in bns:
        layer.call = calibrating(layer, layer.call)
    model(calib, training=False)
    for layer in bns:
        del layer.call


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
        **({"legacy_weights": True} if name in LEGACY_WEIGHTS else {}),
    }


def files_ok(out, entry):
    return all(os.path.exists(os.path.join(out, f)) and os.path.getsize(os.path.join(out, f)) == size for f, size in entry["files"].items())


def images(module, rng, n):
    """Random "photos": 8x8 blocks of colour plus pixel noise in 0..255, then the model's own
    preprocess_input (caffe BGR mean subtraction for VGG and ResNet, [-1, 1] for MobileNet)."""
    blocks = rng.uniform(0, 255 * 0.7, (n, 8, 8, 3)).repeat(SIZE // 8, 1).repeat(SIZE // 8, 2)
    raw = blocks + rng.uniform(0, 255 * 0.3, (n, SIZE, SIZE, 3))
    return module.preprocess_input(raw.astype("float32"))


def make(name, out):
    ctor, module, seed = ARCHS[name]
    t0 = time.time()
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = ctor(weights=None, include_top=True, input_shape=(SIZE, SIZE, 3), classes=1000)
    x = images(module, rng, BATCH)
    # Calibration images from the same distribution as the inputs, so that BatchNormalization's
    # statistics fit them (white noise has far less local contrast than these).
    randomize(model, rng, images(module, rng, 4))
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
    outputs = [h5, xin, lg]
    if name in LEGACY_WEIGHTS:
        # What Keras 2's model.save_weights("x.h5") wrote: root attributes layer_names, backend,
        # keras_version, and per layer its weight_names and datasets; no model_config.
        outputs.append(f"{name}.legacy-weights.h5")
        with h5py.File(os.path.join(out, outputs[-1]), "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
    t2 = time.time()
    files = {f: os.path.getsize(os.path.join(out, f)) for f in outputs}
    print(f"{name}: {model.count_params():,} params, logits range [{logits.min():.3g}, {logits.max():.3g}], "
          f"top-1 {logits.argmax(1).tolist()} (p {' '.join(f'{p:.3f}' for p in probs.max(1))}), build+init {t1 - t0:.1f}s, save+predict {t2 - t1:.1f}s", flush=True)
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
