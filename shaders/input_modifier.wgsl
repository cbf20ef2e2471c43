// Input modifiers of the classical LRP rules, over Values:
//   POSITIVE  out = max(x, 0)     NEGATIVE  out = min(x, 0)     FILL  out = FILL_VALUE
// Filling with 1 also serves the gradient: the relevance kernels compute a * W'^T R, and a = 1
// gives W'^T R; filling with 0 clears what a strided relevance message never reaches.

struct Params { count: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

//#include stream

@group(0) @binding(0) var<storage, read_write> out: array<Value>;
@group(0) @binding(1) var<uniform> p: Params;
#if ${FILL}
#else
@group(0) @binding(2) var<storage, read> x: array<Value>;
#endif


@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var i = gid.x; i < p.count; i += groups.x * ${WG}u) {
#if ${FILL}
    out[i] = Value(${FILL_VALUE});
#elif ${POSITIVE}
    out[i] = max(x[i], Value(0.0));
#else
    out[i] = min(x[i], Value(0.0));
#endif
  }
}
