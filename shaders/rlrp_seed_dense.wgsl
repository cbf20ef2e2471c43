// R-LRP's first step where the logits come from a Dense layer on a vector of `inputs` values, in
// one dispatch of one workgroup per sample (instead of the seed, the layer's message and its
// rescale): the seed R = one-hot of the target class t (target_class.wgsl) with its stats
// (1, 1), then the message a * W[:, t] (the product with a one-hot is one column of the kernel;
// PLUS, R-LRP+: a+ W+ + a- W-) rescaled to |R|_1 = 1 into the input's relevance (0 where the
// message is all 0). REPORT: that is the input's whole relevance, so its (sum |R|, sum R) go to
// slot reportSlot. F16: the kernel is stored in half precision.
#if ${F16}
enable f16;
#endif

struct Params { classes: u32, inputs: u32, slots: u32, seedSlot: u32, reportSlot: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

//#include weight_vec

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> seed: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<StoredWeight>;
@group(0) @binding(5) var<storage, read> act: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

//#include target_class
//#include workgroup_pair_sum

var<workgroup> chosen: u32;

// Input i's message: a_i * W[i][t] (kernel rows [inputs][classes]).
fn message(n: u32, i: u32, t: u32) -> f32 {
  let a = act[n * p.inputs + i];
  let w = f32(weight[i * p.classes + t]);
#if ${PLUS}
  return a * select(min(w, 0.0), max(w, 0.0), a >= 0.0);
#else
  return a * w;
#endif
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = wid.y;
  if (lid == 0u) {
    chosen = targetClass(n, p.classes);
    stats[(n * p.slots + p.seedSlot) * 2u] = 1.0;
    stats[(n * p.slots + p.seedSlot) * 2u + 1u] = 1.0;
  }
  let t = workgroupUniformLoad(&chosen);
  for (var c = lid; c < p.classes; c += ${WG}u) { seed[n * p.classes + c] = select(0.0, 1.0, c == t); }
  var share = vec2(0.0);
  for (var i = lid; i < p.inputs; i += ${WG}u) {
    let m = message(n, i, t);
    share += vec2(abs(m), m);
  }
  let norm = workgroupPairSum(lid, share);
  let mass = norm.x;
  // m / mass is at most 1 in size: no overflow, even for a denormal mass.
  for (var i = lid; i < p.inputs; i += ${WG}u) { out[n * p.inputs + i] = select(message(n, i, t) / mass, 0.0, mass == 0.0); }
#if ${REPORT}
  if (lid == 0u) {
    stats[(n * p.slots + p.reportSlot) * 2u] = select(1.0, 0.0, mass == 0.0);
    stats[(n * p.slots + p.reportSlot) * 2u + 1u] = select(norm.y / mass, 0.0, mass == 0.0);
  }
#endif
}
