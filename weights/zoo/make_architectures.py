"""Writes the architecture JSON (model.to_json()) of each Keras Applications model that
`rlrp --model <name>` knows, into weights/zoo/<name>.json.

The official ImageNet weight files that Keras downloads are weights-only legacy HDF5 files (no
model_config), so the architecture has to come from Keras's own constructors. Built with
weights=None (no download) and the defaults that the official include_top=True weights fit:
224x224x3 input, 1000 classes, softmax head, MobileNet alpha 1.0.

Usage (from the repository root; any Keras 3 backend):
    KERAS_BACKEND=jax .cache/venv/bin/python weights/zoo/make_architectures.py [--check]
--check compares the committed files with what this Keras writes, and fails if they differ.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402  (the backend must be chosen before the import)

HERE = os.path.dirname(os.path.abspath(__file__))
CONSTRUCTORS = {
    "vgg16": keras.applications.VGG16,
    "vgg19": keras.applications.VGG19,
    "resnet50": keras.applications.ResNet50,
    "mobilenet": keras.applications.MobileNet,
}


def architecture(name):
    # A fresh session per model, so auto-generated names (input_layer, ...) do not depend on order.
    keras.backend.clear_session()
    model = CONSTRUCTORS[name](weights=None, include_top=True, input_shape=(224, 224, 3), classes=1000)
    # Sorted keys and an indent keep diffs between Keras versions readable.
    return json.dumps(json.loads(model.to_json()), indent=1, sort_keys=True) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name in CONSTRUCTORS:
        path = os.path.join(HERE, f"{name}.json")
        text = architecture(name)
        if check:
            with open(path) as f:
                if f.read() != text:
                    stale.append(name)
            continue
        with open(path, "w") as f:
            f.write(text)
        print(f"{name}: {len(text):,} bytes -> {os.path.relpath(path)} (Keras {keras.__version__})")
    if stale:
        sys.exit(f"out of date with Keras {keras.__version__}: {', '.join(stale)} (rerun without --check)")


if __name__ == "__main__":
    main()
