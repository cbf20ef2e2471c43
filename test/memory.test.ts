import { describe, expect, it } from 'vitest';
import { planMemory, type TensorLife } from '../src/engine/memory.js';
import { rng } from './helpers/synthetic.js';

describe('activation memory planner', () => {
  it('never lets two live tensors share a slot, and every slot holds its largest tenant', () => {
    const random = rng(3);
    for (let trial = 0; trial < 50; trial++) {
      const tensors: TensorLife[] = Array.from({ length: 30 }, (_, id) => {
        const start = Math.floor(random() * 40) - 1;
        return { id, bytes: 4 * (1 + Math.floor(random() * 1000)), start, end: random() < 0.1 ? Infinity : start + Math.floor(random() * 6) };
      });
      const { slotOf, slotBytes } = planMemory(tensors);
      for (const a of tensors) {
        expect(slotBytes[slotOf.get(a.id)!]).toBeGreaterThanOrEqual(a.bytes);
        for (const b of tensors) {
          if (a.id < b.id && slotOf.get(a.id) === slotOf.get(b.id)) expect(a.end < b.start || b.end < a.start).toBe(true);
        }
      }
    }
  });

  it('reuses memory along a chain: a deep sequential net needs two slots', () => {
    const chain = Array.from({ length: 20 }, (_, id) => ({ id, bytes: 1000 - id * 10, start: id - 1, end: id }));
    const plan = planMemory(chain);
    expect(plan.slotBytes.length).toBe(2);
    expect(plan.slotBytes.reduce((a, b) => a + b, 0)).toBe(1000 + 990);
  });
});
