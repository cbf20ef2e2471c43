#!/usr/bin/env python3
"""Train the two small Fashion-MNIST models shipped in weights/ and write their reference data.

Run from the repository root (weights/make.sh does this for you):

    KERAS_BACKEND=torch .cache/venv-train/bin/python weights/train_fashion_models.py

Data: Zalando's Fashion-MNIST (MIT/Expat licence) as packaged by Debian in
`dataset-fashion-mnist` (idx files under /usr/share/datasets/fashion-mnist).

Preprocessing is NOT part of either model: the models take NHWC float32 input of
shape [N, 28, 28, 1] holding pixel / 255 (values in [0, 1]), computed as
`uint8_pixels.astype(float32) / float32(255)`.

Outputs (all in weights/ unless --out-dir says otherwise):
  fashion_cnn.h5          small Sequential CNN, legacy single-file HDF5, no optimizer state
  fashion_resnet.h5       small functional residual CNN, legacy single-file HDF5, no optimizer state
  fashion_sample.npy      one test image, float32 [1, 28, 28, 1], already divided by 255
  fashion_samples.npy     the first 16 test images, float32 [16, 28, 28, 1], already divided by 255
  fashion_reference.json  Keras's pre-softmax logits for both models on those images, labels,
                          class names and each model's full 10k test accuracy

Only the first 55,000 training images are used for training; the last 5,000 are a
validation split that is only printed.  The test set is used only for the final
accuracy and the reference data (no model selection on it).  Epoch counts are fixed.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402

SEED = 1234
DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
N_VAL = 5000
N_REF = 16


def read_idx(path: str) -> np.ndarray:
    """Read a (gzipped) idx file: magic 0x0000 <dtype=0x08 ubyte> <ndim>, big-endian dims, data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {dims}, got {data.size} bytes")
    return data.reshape(dims)


def find(data_dir: str, stem: str) -> str:
    for name in (stem + ".gz", stem):
        p = os.path.join(data_dir, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{stem}[.gz] not found in {data_dir} (apt-get install dataset-fashion-mnist)")


def preprocess(images_u8: np.ndarray) -> np.ndarray:
    """uint8 [N, 28, 28] -> float32 [N, 28, 28, 1] in [0, 1]. Done outside the models."""
    return (images_u8.astype(np.float32) / np.float32(255.0))[..., None]


def load_data(data_dir: str):
    x_train = read_idx(find(data_dir, "train-images-idx3-ubyte"))
    y_train = read_idx(find(data_dir, "train-labels-idx1-ubyte"))
    x_test = read_idx(find(data_dir, "t10k-images-idx3-ubyte"))
    y_test = read_idx(find(data_dir, "t10k-labels-idx1-ubyte"))
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    return (preprocess(x_train), y_train.astype(np.int64)), (preprocess(x_test), y_test.astype(np.int64))


def build_cnn(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1), name="image"),
            L.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
            L.MaxPooling2D(2, name="pool1"),
            L.Conv2D(32, 3, activation="relu", name="conv2"),
            L.MaxPooling2D(2, name="pool2"),
            L.Flatten(name="flatten"),
            L.Dense(64, activation="relu", name="fc1"),
            L.Dense(10, activation="softmax", name="predictions"),
        ],
        name="fashion_cnn",
    )


def build_resnet(keras):
    L = keras.layers

    def conv_bn(x, filters, kernel, strides, name):
        x = L.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=name + "_conv")(x)
        return L.BatchNormalization(name=name + "_bn")(x)

    def block(x, filters, strides, name):
        shortcut = x
        y = conv_bn(x, filters, 3, strides, name + "_a")
        y = L.ReLU(name=name + "_a_relu")(y)
        y = conv_bn(y, filters, 3, 1, name + "_b")
        if strides != 1 or x.shape[-1] != filters:
            shortcut = conv_bn(x, filters, 1, strides, name + "_proj")
        y = L.Add(name=name + "_add")([y, shortcut])
        return L.ReLU(name=name + "_out")(y)

    inp = keras.Input(shape=(28, 28, 1), name="image")
    x = conv_bn(inp, 16, 3, 1, "stem")
    x = L.ReLU(name="stem_relu")(x)
    x = block(x, 32, 2, "block1")   # 1x1 stride-2 projection shortcut, -> 14x14x32
    x = block(x, 32, 1, "block2")   # identity shortcut, 14x14x32
    x = block(x, 64, 2, "block3")   # 1x1 stride-2 projection shortcut, -> 7x7x64
    x = L.GlobalAveragePooling2D(name="gap")(x)
    out = L.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="fashion_resnet")


def logits_model(keras, model):
    """input -> final Dense without its softmax: a fresh linear Dense holding the same weights."""
    final = model.layers[-1]
    assert final.__class__.__name__ == "Dense" and final.get_config()["activation"] == "softmax"
    linear = keras.layers.Dense(final.units, activation=None, name="logits")
    out = linear(final.input)
    linear.set_weights(final.get_weights())
    return keras.Model(model.inputs, out, name=model.name + "_logits")


ALLOWED_LAYERS = {
    "InputLayer", "Conv2D", "DepthwiseConv2D", "Dense", "MaxPooling2D", "AveragePooling2D",
    "GlobalAveragePooling2D", "GlobalMaxPooling2D", "BatchNormalization", "Activation", "ReLU", "Add",
    "Concatenate", "Flatten", "Reshape", "Dropout", "ZeroPadding2D", "Rescaling",
}


def verify(keras, out_dir, data_dir, full_test=True):
    """Reload the saved files and check them against fashion_reference.json."""
    with open(os.path.join(out_dir, "fashion_reference.json")) as f:
        ref = json.load(f)
    samples = np.load(os.path.join(out_dir, ref["samples_file"]))
    sample = np.load(os.path.join(out_dir, ref["sample_file"]))
    assert samples.dtype == np.dtype("<f4") and samples.shape == (N_REF, 28, 28, 1), (samples.dtype, samples.shape)
    assert sample.dtype == np.dtype("<f4") and sample.shape == (1, 28, 28, 1), (sample.dtype, sample.shape)
    (_, _), (x_test, y_test) = load_data(data_dir)
    assert np.array_equal(samples, x_test[:N_REF]) and np.array_equal(sample[0], x_test[ref["sample_test_index"]])
    assert ref["labels"] == [int(v) for v in y_test[:N_REF]]
    for name, m in ref["models"].items():
        model = keras.models.load_model(os.path.join(out_dir, m["file"]))
        classes = {layer.__class__.__name__ for layer in model.layers} | {"InputLayer"}
        assert classes <= ALLOWED_LAYERS, classes - ALLOWED_LAYERS
        lm = logits_model(keras, model)
        logits = np.asarray(lm.predict(samples, verbose=0))
        want = np.asarray(m["logits"], dtype=np.float32)
        err = float(np.max(np.abs(logits - want)))
        assert err <= 1e-4 * max(1.0, float(np.max(np.abs(want)))), (name, err)
        sample_logits = np.asarray(lm.predict(sample, verbose=0))[0]
        assert int(np.argmax(sample_logits)) == ref["sample_label"], name
        line = f"[verify] {name}: {os.path.getsize(os.path.join(out_dir, m['file']))} bytes, layers ok, " \
               f"16 reference logits reproduced (max abs diff {err:.2e}), sample classified " \
               f"{CLASS_NAMES[int(np.argmax(sample_logits))]}"
        if full_test:
            acc = float(np.mean(np.argmax(model.predict(x_test, batch_size=500, verbose=0), 1) == y_test))
            assert acc == m["test_accuracy"], (name, acc, m["test_accuracy"])
            line += f", test accuracy {acc:.4f} reproduced"
        print(line, flush=True)
    return 0


def train(keras, name, model, data, epochs, batch_size, lr, out_dir):
    (x_train, y_train), (x_test, y_test) = data
    x_fit, y_fit = x_train[:-N_VAL], y_train[:-N_VAL]
    x_val, y_val = x_train[-N_VAL:], y_train[-N_VAL:]
    steps = epochs * ((len(x_fit) + batch_size - 1) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps, alpha=0.05)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.summary()
    t0 = time.perf_counter()
    model.fit(x_fit, y_fit, batch_size=batch_size, epochs=epochs, validation_data=(x_val, y_val), shuffle=True, verbose=2)
    seconds = time.perf_counter() - t0
    path = os.path.join(out_dir, name + ".h5")
    # Legacy single-file HDF5 (Keras picks the format from the .h5 suffix); optimizer state left out.
    model.save(path, include_optimizer=False)
    probs = model.predict(x_test, batch_size=500, verbose=0)
    acc = float(np.mean(np.argmax(probs, axis=1) == y_test))
    print(f"[{name}] trained {epochs} epochs in {seconds:.1f} s; test accuracy {acc:.4f}; "
          f"{model.count_params()} params; {os.path.getsize(path)} bytes", flush=True)
    return {
        "file": name + ".h5",
        "bytes": os.path.getsize(path),
        "params": int(model.count_params()),
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": f"Adam, cosine decay from {lr} to {lr * 0.05:g} over {steps} steps",
        "train_seconds": round(seconds, 1),
        "test_accuracy": acc,
        "test_correct": int(np.sum(np.argmax(probs, axis=1) == y_test)),
        "test_predictions": np.argmax(probs, axis=1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--out-dir", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--cnn-epochs", type=int, default=12)
    ap.add_argument("--resnet-epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (default 1: reproducible, and robust on a busy 2-core machine)")
    ap.add_argument("--verify", action="store_true", help="only reload the saved files and check the reference data")
    ap.add_argument("--only", choices=["cnn", "resnet"], help="train one model only (reference data needs both)")
    args = ap.parse_args()

    import keras
    import torch

    if keras.backend.backend() != "torch":
        print(f"warning: KERAS_BACKEND is {keras.backend.backend()}, the shipped files used torch", file=sys.stderr)
    torch.set_num_threads(args.threads)
    if args.verify:
        return verify(keras, args.out_dir, args.data_dir)
    keras.utils.set_random_seed(SEED)  # python, numpy and torch RNGs
    torch.use_deterministic_algorithms(True)
    data = load_data(args.data_dir)
    (_, _), (x_test, y_test) = data
    os.makedirs(args.out_dir, exist_ok=True)

    results = {}
    if args.only in (None, "cnn"):
        keras.utils.set_random_seed(SEED)
        results["fashion_cnn"] = train(keras, "fashion_cnn", build_cnn(keras), data, args.cnn_epochs, 128, 1e-3, args.out_dir)
    if args.only in (None, "resnet"):
        keras.utils.set_random_seed(SEED + 1)
        results["fashion_resnet"] = train(keras, "fashion_resnet", build_resnet(keras), data, args.resnet_epochs, 128, 2e-3, args.out_dir)
    if args.only:
        return 0

    # Reference data, computed from the files as saved (reloaded), not from the in-memory models.
    samples = np.ascontiguousarray(x_test[:N_REF], dtype=np.float32)
    correct_all = np.ones(len(y_test), dtype=bool)
    for r in results.values():
        correct_all &= r["test_predictions"] == y_test
    sample_index = int(np.argmax(correct_all))  # first test image that every model classifies correctly
    sample = np.ascontiguousarray(x_test[sample_index: sample_index + 1], dtype=np.float32)
    np.save(os.path.join(args.out_dir, "fashion_samples.npy"), samples)
    np.save(os.path.join(args.out_dir, "fashion_sample.npy"), sample)

    ref = {
        "description": "Keras pre-softmax logits (final Dense with its softmax removed) for the first 16 "
                       "Fashion-MNIST test images (fashion_samples.npy) and for fashion_sample.npy",
        "preprocessing": "NHWC float32 [N,28,28,1] = uint8 pixel / 255, done outside the model",
        "class_names": CLASS_NAMES,
        "samples_file": "fashion_samples.npy",
        "samples_test_indices": list(range(N_REF)),
        "labels": [int(v) for v in y_test[:N_REF]],
        "sample_file": "fashion_sample.npy",
        "sample_test_index": sample_index,
        "sample_label": int(y_test[sample_index]),
        "seed": SEED,
        "versions": {"keras": keras.__version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version(), "backend": keras.backend.backend()},
        "models": {},
    }
    for name, r in results.items():
        loaded = keras.models.load_model(os.path.join(args.out_dir, r["file"]))
        lm = logits_model(keras, loaded)
        logits = np.asarray(lm.predict(samples, verbose=0), dtype=np.float32)
        sample_logits = np.asarray(lm.predict(sample, verbose=0), dtype=np.float32)
        probs = np.asarray(loaded.predict(samples, verbose=0))
        assert np.allclose(np.exp(logits - logits.max(1, keepdims=True)) /
                           np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True), probs, atol=1e-5)
        reloaded_acc = float(np.mean(np.argmax(loaded.predict(x_test, batch_size=500, verbose=0), 1) == y_test))
        assert reloaded_acc == r["test_accuracy"], (reloaded_acc, r["test_accuracy"])
        assert int(np.argmax(sample_logits)) == ref["sample_label"]
        ref["models"][name] = {
            "file": r["file"],
            "test_accuracy": r["test_accuracy"],
            "test_correct": r["test_correct"],
            "test_total": int(len(y_test)),
            "params": r["params"],
            "epochs": r["epochs"],
            "batch_size": r["batch_size"],
            "optimizer": r["optimizer"],
            "train_seconds": r["train_seconds"],
            "logits": [[float(v) for v in row] for row in logits],
            "predictions": [int(v) for v in np.argmax(logits, 1)],
            "sample_logits": [float(v) for v in sample_logits[0]],
        }
    with open(os.path.join(args.out_dir, "fashion_reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    print(f"sample index {sample_index} (label {CLASS_NAMES[ref['sample_label']]}); wrote reference data", flush=True)
    return verify(keras, args.out_dir, args.data_dir, full_test=False)


if __name__ == "__main__":
    sys.exit(main())
