// Element-wise activation, selected at pipeline creation. Included by kernels that fuse it.
fn activate(x: f32) -> f32 {
#if ${ACT_RELU}
  var positive = select(0.0, x, x > ${ACT_THRESHOLD});
#if ${ACT_HAS_MAX}
  positive = clamp(positive, 0.0, ${ACT_MAX});
#endif
  return positive - ${ACT_SLOPE} * max(${ACT_THRESHOLD} - x, 0.0);
#elif ${ACT_SIGMOID}
  return 1.0 / (1.0 + exp(-x));
#elif ${ACT_TANH}
  // Clamped: some drivers compute tanh as an exp ratio that overflows to NaN.
  return tanh(clamp(x, -15.0, 15.0));
#elif ${ACT_ELU}
  return select(${ACT_ALPHA} * (exp(min(x, 0.0)) - 1.0), x, x > 0.0);
#elif ${ACT_SWISH}
  return x / (1.0 + exp(-x));
#elif ${ACT_SOFTPLUS}
  return max(x, 0.0) + log(1.0 + exp(-abs(x)));
#else
  return x;
#endif
}
