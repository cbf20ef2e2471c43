// The target class of sample n: targets[n], or where that is -1 the predicted class (the first
// maximum of its logits), chosen on the GPU so that no read-back is needed between the forward
// and the relevance pass, and written back to targets[n]. The includer declares `logits`
// (array<f32>) and `targets` (array<i32>, read_write).
fn targetClass(n: u32, classes: u32) -> u32 {
  var t = targets[n];
  if (t < 0) {
    t = 0;
    for (var c = 1u; c < classes; c++) {
      if (logits[n * classes + c] > logits[n * classes + u32(t)]) { t = i32(c); }
    }
    targets[n] = t;
  }
  return u32(t);
}
