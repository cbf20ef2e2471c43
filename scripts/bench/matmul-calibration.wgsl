// The benchmark's 100% line: a plain 1024^3 matmul in the shape that ran fastest on lavapipe
// (4 rows x 2 vec4 columns per thread, workgroups of 8 x 4, operands read from storage).
// M, N, K multiples of 16, 64 and 4.

struct Params { M: u32, N: u32, K: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> C: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(8, 4, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row0 = gid.y * 4u;
  let col = gid.x * 2u;
  let k4 = p.K / 4u;
  let n4 = p.N / 4u;
  var acc0: array<vec4<f32>, 4>;
  var acc1: array<vec4<f32>, 4>;
  for (var k = 0u; k < k4; k++) {
    var a: array<vec4<f32>, 4>;
    for (var i = 0u; i < 4u; i++) { a[i] = A[(row0 + i) * k4 + k]; }
    for (var l = 0u; l < 4u; l++) {
      let b0 = B[(k * 4u + l) * n4 + col];
      let b1 = B[(k * 4u + l) * n4 + col + 1u];
      for (var i = 0u; i < 4u; i++) {
        acc0[i] = fma(vec4(a[i][l]), b0, acc0[i]);
        acc1[i] = fma(vec4(a[i][l]), b1, acc1[i]);
      }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    C[(row0 + i) * n4 + col] = acc0[i];
    C[(row0 + i) * n4 + col + 1u] = acc1[i];
  }
}
