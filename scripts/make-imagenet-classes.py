"""Writes weights/imagenet_classes.json: the 1000 ImageNet class names in the index order of
Keras Applications' ImageNet models (the sorted WordNet ids of ILSVRC-2012, as in Keras's
imagenet_class_index.json), taken from torchvision's _IMAGENET_CATEGORIES, which has that order.

    python scripts/make-imagenet-classes.py [torchvision-*.whl]

Without an argument it reads the installed torchvision; with a wheel it reads the file from the
wheel (no torch needed). The list is parsed, never imported or executed.
"""
import ast
import json
import os
import sys
import zipfile

META = 'torchvision/models/_meta.py'
if len(sys.argv) > 1:
    with zipfile.ZipFile(sys.argv[1]) as wheel:
        source = wheel.read(META).decode('utf8')
else:
    import importlib.util
    origin = importlib.util.find_spec('torchvision').submodule_search_locations[0]
    with open(os.path.join(origin, 'models', '_meta.py'), encoding='utf8') as f:
        source = f.read()

names = None
for node in ast.parse(source).body:
    if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == '_IMAGENET_CATEGORIES' for t in node.targets):
        names = ast.literal_eval(node.value)
assert names and len(names) == 1000, 'expected 1000 ImageNet categories'
# Spot checks of the Keras order (imagenet_class_index.json): 0 tench, 1 goldfish, 281 tabby, 285 Egyptian cat, 999 toilet tissue.
assert (names[0], names[1], names[281], names[285], names[999]) == ('tench', 'goldfish', 'tabby', 'Egyptian cat', 'toilet tissue'), names[:2]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'weights', 'imagenet_classes.json')
with open(out, 'w', encoding='utf8') as f:
    json.dump(names, f, indent=0, ensure_ascii=False)
    f.write('\n')
print('wrote', out)
