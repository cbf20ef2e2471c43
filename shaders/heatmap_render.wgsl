// One heatmap pixel per invocation: the sum over channels of one sample's NHWC relevance,
// normalised symmetrically to u = (s / scale + 1) / 2, coloured with a 256-entry map as
// matplotlib picks entries (floor(u * 256), clamped), optionally blended over the input image
// as round((1 - opacity) * image + opacity * colour); written to an rgba8unorm texture.

struct Params { width: u32, height: u32, channels: u32, offset: u32, opacityBits: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(0) var<storage, read> relevance: array<f32>;
@group(0) @binding(1) var<storage, read> scale: array<f32>;
// Colour map entries, RGB in the low 24 bits.
@group(0) @binding(2) var<storage, read> lut: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var out: texture_storage_2d<rgba8unorm, write>;
#if ${OVERLAY}
// The input image, RGBA8 per pixel.
@group(0) @binding(5) var<storage, read> image: array<u32>;
#endif

// The 8-bit channels of a packed colour as whole numbers (exact, unlike unpack4x8unorm * 255).
fn channels(packed: u32) -> vec3<f32> {
  return vec3<f32>(f32(packed & 0xffu), f32((packed >> 8u) & 0xffu), f32((packed >> 16u) & 0xffu));
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= p.width || gid.y >= p.height) { return; }
  let pixel = gid.y * p.width + gid.x;
  var sum = 0.0;
  for (var c = 0u; c < p.channels; c++) {
    sum += relevance[p.offset + pixel * p.channels + c];
  }
  let u = (sum / scale[0] + 1.0) * 0.5;
  var colour = channels(lut[u32(clamp(floor(u * 256.0), 0.0, 255.0))]);
#if ${OVERLAY}
  let opacity = bitcast<f32>(p.opacityBits);
  // floor(x + 0.5), not round(): WGSL rounds halves to even, the CPU reference (Math.round) up.
  colour = floor((1.0 - opacity) * channels(image[pixel]) + opacity * colour + 0.5);
#endif
  textureStore(out, vec2<i32>(gid.xy), vec4<f32>(colour / 255.0, 1.0));
}
