// activate() of activation_fn.wgsl over a stream.wgsl Value (per component for vec4).
//#include activation_fn

fn activateValue(v: Value) -> Value {
#if ${VEC}
  return vec4(activate(v.x), activate(v.y), activate(v.z), activate(v.w));
#else
  return activate(v);
#endif
}
