// Gradient through an activation: out += act'(x) * g, with x the pre-activation (the relevance
// plan keeps every node's output, so the linear node before the activation holds it). Kinks
// follow torch: ReLU has derivative 0 at its threshold, a capped ReLU 0 at its cap.

struct Params { count: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

//#include stream

@group(0) @binding(0) var<storage, read> g: array<Value>;
@group(0) @binding(1) var<storage, read> pre: array<Value>;
@group(0) @binding(2) var<storage, read_write> out: array<Value>;
@group(0) @binding(3) var<uniform> p: Params;


fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

fn derivative(x: f32) -> f32 {
#if ${ACT_RELU}
  if (x <= ${ACT_THRESHOLD}) { return ${ACT_SLOPE}; }
#if ${ACT_HAS_MAX}
  if (x >= ${ACT_MAX}) { return 0.0; }
#endif
  return 1.0;
#elif ${ACT_SIGMOID}
  let s = sigmoid(x);
  return s * (1.0 - s);
#elif ${ACT_TANH}
  let t = tanh(clamp(x, -15.0, 15.0));
  return 1.0 - t * t;
#elif ${ACT_ELU}
  return select(${ACT_ALPHA} * exp(min(x, 0.0)), 1.0, x > 0.0);
#elif ${ACT_SWISH}
  let s = sigmoid(x);
  return s * (1.0 + x * (1.0 - s));
#elif ${ACT_SOFTPLUS}
  return sigmoid(x);
#else
  return 1.0;
#endif
}

fn derivativeValue(x: Value) -> Value {
#if ${VEC}
  return vec4(derivative(x.x), derivative(x.y), derivative(x.z), derivative(x.w));
#else
  return derivative(x);
#endif
}

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var i = gid.x; i < p.count; i += groups.x * ${WG}u) {
    out[i] += derivativeValue(pre[i]) * g[i];
  }
}
