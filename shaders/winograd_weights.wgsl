// Winograd kernel transform (see winograd_slots.wgsl), once per layer: U = G g G^T for each
// (input channel, four output channels) of a 3x3 Keras kernel w[ky][kx][c_in][c_out], into
// u[slot][c_in][c_out], the GEMM operand of each slot (the layout of a 1x1 kernel). F16: the
// kernel is stored in half precision, and so is U (computed in f32, rounded once).
#if ${F16}
enable f16;
alias Stored = vec4<f16>;
#else
alias Stored = vec4<f32>;
#endif

struct Params { units: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

//#include stream

@group(0) @binding(0) var<storage, read> w: array<Stored>;
@group(0) @binding(1) var<storage, read_write> u: array<Stored>;
@group(0) @binding(2) var<uniform> p: Params;

// One column (or row) of G g: G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
fn kernelTransform(g0: Value, g1: Value, g2: Value) -> array<Value, 4> {
  return array<Value, 4>(g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2);
}

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var i = gid.x; i < p.units; i += groups.x * ${WG}u) {
    var cols: array<array<Value, 4>, 3>;
    for (var kx = 0u; kx < 3u; kx++) { cols[kx] = kernelTransform(Value(w[kx * p.units + i]), Value(w[(3u + kx) * p.units + i]), Value(w[(6u + kx) * p.units + i])); }
    for (var r = 0u; r < 4u; r++) {
      let row = kernelTransform(cols[0][r], cols[1][r], cols[2][r]);
      for (var c = 0u; c < 4u; c++) { u[(r * 4u + c) * p.units + i] = Stored(row[c]); }
    }
  }
}
