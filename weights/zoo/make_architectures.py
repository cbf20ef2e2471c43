"""Writes the architecture JSON (model.to_json()) of each Keras Applications model that
`rlrp --model <name>` knows, into weights/zoo/<name>.json, and keras_downloads.json: for each,
the arguments Keras passes to keras.utils.get_file when it fetches the ImageNet weights
(file name, URL, hash), recorded by intercepting that call. src/zoo/registry.ts must agree with
it (test/zoo.test.ts checks).

The official ImageNet weight files that Keras downloads are weights-only legacy HDF5 files (no
model_config), so the architecture has to come from Keras's own constructors. Built with
weights="imagenet" while get_file and load_weights are intercepted (nothing is downloaded), and the defaults that the official include_top=True weights fit:
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
from keras.src.utils import file_utils  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONSTRUCTORS = {
    "vgg16": keras.applications.VGG16,
    "vgg19": keras.applications.VGG19,
    "resnet50": keras.applications.ResNet50,
    "mobilenet": keras.applications.MobileNet,
}


def architecture(name):
    """The model's JSON and the get_file call Keras makes for its include_top ImageNet weights."""
    # A fresh session per model, so auto-generated names (input_layer, ...) do not depend on order.
    keras.backend.clear_session()
    calls = []

    def get_file(fname=None, origin=None, **kwargs):
        calls.append({"fname": fname, "origin": origin, "file_hash": kwargs.get("file_hash"), "cache_subdir": kwargs.get("cache_subdir")})
        return "intercepted"

    real_get_file, real_load_weights = file_utils.get_file, keras.Model.load_weights
    file_utils.get_file, keras.Model.load_weights = get_file, lambda self, path, *a, **k: None
    try:
        model = CONSTRUCTORS[name](weights="imagenet", include_top=True, input_shape=(224, 224, 3), classes=1000)
    finally:
        file_utils.get_file, keras.Model.load_weights = real_get_file, real_load_weights
    assert len(calls) == 1, calls
    # Sorted keys and an indent keep diffs between Keras versions readable.
    return json.dumps(json.loads(model.to_json()), indent=1, sort_keys=True) + "\n", calls[0]


def main():
    check = "--check" in sys.argv[1:]
    outputs = {}
    downloads = {}
    for name in CONSTRUCTORS:
        outputs[f"{name}.json"], downloads[name] = architecture(name)
    outputs["keras_downloads.json"] = json.dumps({"keras_version": keras.__version__, "models": downloads}, indent=1, sort_keys=True) + "\n"
    stale = []
    for file, text in outputs.items():
        path = os.path.join(HERE, file)
        if check:
            with open(path) as f:
                if f.read() != text:
                    stale.append(file)
            continue
        with open(path, "w") as f:
            f.write(text)
        print(f"{len(text):>9,} bytes -> {os.path.relpath(path)} (Keras {keras.__version__})")
    if stale:
        sys.exit(f"out of date with Keras {keras.__version__}: {', '.join(stale)} (rerun without --check)")


if __name__ == "__main__":
    main()
