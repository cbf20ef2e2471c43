/** Help texts: `rlrp --help` and `rlrp <command> --help`. */
import { COLORMAPS } from '../image/colormaps.js';
import { PRESETS } from '../image/preprocess.js';
import { INTERPOLATIONS } from '../image/resample.js';
import { ZOO } from '../zoo/registry.js';

const EXIT_CODES = `exit codes:
  0  success
  1  runtime error: a missing or unreadable file, an image or model that cannot be used, a value
     the library rejects (unknown method, preset, colour map or model name), a failed download, a
     GPU error; in batch mode, also when some images failed (listed in summary.json)
  2  usage error: unknown command or option, a required option missing, a value of the wrong form
  130  interrupted (Ctrl-C); a batch resumes when the same command runs again`;

const MODEL = `  --model <file|name>  a Keras model (legacy .h5, Keras 3 .keras, or weights-only .h5 / .weights.h5
                       with --config), or a Keras Applications ImageNet model by name: ${[...ZOO.keys()].join(', ')}
                       (downloaded on first use with a progress bar, hash-checked, cached; offline after)
  --config <json>      architecture JSON (model.to_json()) for a weights-only file
  --cache-dir <dir>    where named models' weights are cached (default RLRP_CACHE_DIR, else Keras's
                       $KERAS_HOME/models or ~/.keras/models); RLRP_ZOO_MIRROR names a mirror`;

const IMAGES = `  --image <path>       a PNG or JPEG file, a folder (its PNG and JPEG files) or a glob ('imgs/*.jpg'; quote
                       it, or let the shell expand it: extra arguments are more images); repeatable
  --preprocess <name>  preprocessing preset: ${PRESETS.join(', ')} (caffe: BGR minus the ImageNet mean, as VGG
                       and ResNet50; tf: [-1, 1], as MobileNet; torch: ImageNet mean/std; unit: x/255;
                       raw: 0..255). Named models and files saved from Keras Applications record theirs;
                       other models need this flag for images; it always overrides the recorded one
  --interpolation <m>  resizing to the model's input size: ${INTERPOLATIONS.join(', ')} (default nearest, as
                       keras.utils.load_img)
  --crop               centre-crop to the model's aspect ratio before resizing (load_img's keep_aspect_ratio)
  --grey-to-rgb        accept greyscale images for a colour model (the grey channel repeated)
  --batch-size <n>     images per GPU batch (default 8)
  --labels <json>      class names: a JSON array, or an object with a "class_names" array (default: the
                       ImageNet names for a 1000-class model, else none)`;

const COMMON = `  --json               machine-readable output on stdout
  --quiet              no progress bars
  --help               this help`;

export const HELP: Record<string, string> = {
  main: `usage: rlrp <command> [options]     rlrp <command> --help for its options

Layer-wise Relevance Propagation for Keras image classifiers on WebGPU.

commands:
  explain   relevance heatmaps of images or arrays (R-LRP, classical LRP rules, gradients)
  predict   class scores of images or arrays
  inspect   a model's layers, shapes, parameter counts, support and preprocessing
  evaluate  faithfulness, robustness and sanity metrics of methods on a data set, as JSON and HTML

examples:
  rlrp explain --model vgg16 --image cat.jpg --method rlrp,epsilon-plus-flat --out cat-explained.png
  rlrp explain --model mobilenet --image 'photos/*.jpg' --out heatmaps/ --batch-size 16
  rlrp explain --model weights/fashion_cnn.h5 --image weights/images/fashion_sample.png --preprocess unit --out fashion.png
  rlrp predict --model resnet50 --image cat.jpg
  rlrp inspect --model weights/fashion_cnn.h5
  rlrp evaluate --model weights/fashion_cnn.h5 --data weights/fashion_test64.npy --labels weights/fashion_test64.labels.json --out report/

${EXIT_CODES}`,

  explain: `usage: rlrp explain --model <file|name> --image <file|folder|glob> [--out <png|folder>] [options]
       rlrp explain --model <file> --input <x.npy> [--out-npy rel.npy] [--out-png heat.png] [options]

Explains the predicted class (or --target) of each image and prints the top classes with scores.
One image file: --out is the PNG to write, a grid of the input (titled with the explained class)
and one heatmap per method (titled with the method). A folder, glob or several images: --out is a
folder that gets <name>.png (the grid) and <name>.<method>.png (each heatmap) per image and a
summary.json (per image: file, top classes, target, outputs, timings), rewritten after every
batch; run the same command again after an interruption and it skips the images already done.
Heatmaps: relevance summed over channels, scaled symmetrically (max |R|, or --clip), coloured on
the GPU.

inputs and model:
${MODEL}
${IMAGES}
  --input <x.npy>      instead of images: a float32 .npy, NHWC, batch first (one sample without the batch
                       axis is accepted)

method:
  --method <names>     comma-separated relevance methods (default rlrp: R-LRP as defined in the project's
                       spec; rlrp-plus: its variant with positive contributions; classical (zennit's
                       definitions): lrp0, epsilon, zplus, alpha-beta, gamma, flat, wsquare, zbox,
                       epsilon-plus, epsilon-alpha2-beta1, epsilon-plus-flat, epsilon-gamma-box;
                       baselines: gradient, gradient-x-input). --input takes one method
  --skip product|ratio how R-LRP splits relevance at Add (residual) layers (default product)
  --epsilon, --gamma, --alpha, --beta   rule parameters (defaults 1e-6, 0.25, 2, 1; alpha - beta = 1)
  --low, --high        the model input's value range for zbox and epsilon-gamma-box (one number, or one
                       per input channel, comma-separated)
  --rules <l=r,...>    per-layer rules by Keras layer name, e.g. conv2d=zplus,dense_1=epsilon
  --target <n[,n...]>  class to explain: one for all samples, or (--input) one per sample (default: the
                       predicted class)
  --top <k>            classes printed per image (default 5)

outputs:
  --out <png|folder>   (--image) the grid PNG for one image, the output folder for several
  --colormap <name>    ${COLORMAPS.join(', ')} (default bwr; red positive, blue negative)
  --overlay <opacity>  blend each heatmap over the input, opacity in [0, 1]
  --clip <percentile>  scale at this percentile of |R| (e.g. 99.5) instead of the maximum
  --out-npy <file>     the relevance as float32 .npy, the input's shape (one image or --input; with several
                       methods, <file> gets each method's name before .npy)
  --out-png <file>     (--input) a heatmap of the first sample
  --layer <name>       (--input) report the relevance at this Keras layer's output instead of at the input
${COMMON}

examples:
  rlrp explain --model vgg16 --image cat.jpg --method rlrp,epsilon-plus-flat --out cat-explained.png
  rlrp explain --model mobilenet --image photos/ --out heatmaps/ --colormap coldnhot --overlay 0.6
  rlrp explain --model my_model.keras --image 'scans/*.png' --preprocess unit --grey-to-rgb --out out/
  rlrp explain --model weights/fashion_cnn.h5 --input weights/fashion_sample.npy --out-npy rel.npy --out-png rel.png

${EXIT_CODES}`,

  predict: `usage: rlrp predict --model <file|name> (--image <file|folder|glob> | --input <x.npy>) [options]

Prints the top classes with scores (softmax of the logits) of each image or sample.

${MODEL}
${IMAGES}
  --input <x.npy>      instead of images: a float32 .npy, NHWC, batch first
  --top <k>            classes per sample (default 5)
${COMMON}

examples:
  rlrp predict --model resnet50 --image cat.jpg
  rlrp predict --model weights/fashion_cnn.h5 --input weights/fashion_samples.npy --labels weights/fashion_reference.json --top 3

${EXIT_CODES}`,

  inspect: `usage: rlrp inspect --model <file|name> [--config <json>] [--json]

Prints the model's layers with output shapes, parameter counts and whether the engine supports
them, and its preprocessing preset when the model records one.

${MODEL}
${COMMON}

examples:
  rlrp inspect --model weights/fashion_resnet.h5
  rlrp inspect --model vgg19 --json

${EXIT_CODES}`,
  evaluate: `usage: rlrp evaluate --model <file|name> --data <x.npy|folder> [--preprocess <preset>] [--labels <labels.json>] [--method m1,m2,...] [--out report/]
              [--samples N] [--metrics perturbation,robustness,conservation,randomization]
              [--patch P] [--steps S] [--replacement mean|zero|blur|uniform] [--score probability|logit]
              [--radii 0.01,0.02,0.05] [--draws D] [--randomization-samples K] [--examples E] [--seed N]
              [--epsilon E] [--gamma G] [--low L --high H] [--config <arch.json>] [--title T]

Scores explanation methods on a data set: region perturbation (AOPC, insertion/deletion AUC),
robustness to input noise, conservation and cascading layer randomisation. Writes
<out>/report.json and a self-contained <out>/report.html.

${MODEL}
  --data     float32 .npy, NHWC, batch first, preprocessed as the model expects; or a folder of PNG/JPEG
             images (sorted by name; --labels then follow that order), resized to the model's input
  --preprocess  for an image folder: caffe, tf, torch, unit or raw (as keras.applications' preprocess_input)
  --labels   the true class of each sample: a JSON array of class indices (or an object with "labels");
             the classes explained and scored (without it: each sample's predicted class)
  --method   comma-separated (default rlrp,rlrp-plus,epsilon,zplus,epsilon-plus-flat,gradient-x-input,random);
             'all', or any method of rlrp explain, or random
             (random: seeded Gaussian noise, a baseline that ignores input and model)
  --samples  evaluate only the first N samples
  --metrics  metric groups to run (default all)
  --patch    side of the square patches perturbed together (default image side / 14)
  --steps    perturbation steps from no patch to all patches (default 16)
  --replacement  what a perturbed patch becomes (default mean: the image's channel means)
  --radii    input noise radii for the robustness metrics, as fractions of the data's value range
  --draws    noisy copies per radius and sample (default 4)
  --randomization-samples  samples in the cascading randomisation check (default 8; 0: off)
  --examples samples shown in the report's heatmap grid (default 4)
  --low, --high  input range for zbox and epsilon-gamma-box (default: the data's minimum and maximum)
  --out      folder for report.json and report.html (default report/)

examples:
  rlrp evaluate --model weights/fashion_cnn.h5 --data weights/fashion_test64.npy --labels weights/fashion_test64.labels.json --out report/
  rlrp evaluate --model weights/fashion_cnn.h5 --data images/ --preprocess unit --method all --samples 16

${EXIT_CODES}`,
};
