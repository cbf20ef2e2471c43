// An Add operand's share of R (R-LRP's split, rlrp-spec.md): u_k itself, or u_k / total with
// RATIO (total = y); PLUS takes u_k+ = max(u_k, 0) instead (total = sum_k u_k+). Where the
// total is 0 under RATIO or PLUS, each of the m operands gets `even` = 1 / m.
fn addShare(u: Value, total: Value, even: Value) -> Value {
#if ${PLUS}
  let v = max(u, Value(0.0));
#else
  let v = u;
#endif
#if ${RATIO}
  return select(v / total, even, total == Value(0.0));
#elif ${PLUS}
  return select(v, even, total == Value(0.0));
#else
  return v;
#endif
}
