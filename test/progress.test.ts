import { describe, expect, it } from 'vitest';
import { Progress, type ProgressStream } from '../src/cli/progress.js';

// The progress bar with a fake stream and a fake clock (no real time is measured).
function fakeStream(isTTY: boolean, columns = 120): ProgressStream & { out: string } {
  return { out: '', isTTY, columns, write(text: string) { this.out += text; } };
}

describe('progress bar', () => {
  it('bytes on a TTY: redraws one line in place, with percentage, sizes, rate and ETA', () => {
    const stream = fakeStream(true);
    let now = 0;
    const bar = new Progress({ label: 'vgg16', total: 500_000_000, stream, now: () => now });
    bar.update(0);
    now = 10_000; // 10 s, 100 MB: 10 MB/s, 400 MB left -> 40 s
    bar.update(100_000_000);
    expect(bar.line()).toBe('vgg16 [#####...................]  20% 100.0 MB/500.0 MB 10.0 MB/s ETA 0:40');
    now = 10_050; // within the 100 ms redraw interval: not drawn
    bar.update(100_500_000);
    now = 50_000;
    bar.update(500_000_000);
    bar.finish();
    const frames = stream.out.split('\r').filter(Boolean);
    expect(frames).toHaveLength(3);
    // Padded with a space over the previous, one character longer line.
    expect(frames[2]).toBe('vgg16 [########################] 100% 500.0 MB/500.0 MB 10.0 MB/s in 0:50 \n');
    expect(stream.out.split('\n')).toHaveLength(2);
  });

  it('a resumed download: the rate counts only bytes received in this run', () => {
    let now = 0;
    const bar = new Progress({ label: 'x', stream: fakeStream(false), now: () => now });
    bar.update(400, 1000);
    now = 2000;
    bar.update(600);
    expect(bar.rate()).toBe(100);
    expect(bar.line()).toBe('x [##############..........]  60% 600 B/1.00 kB 100 B/s ETA 0:04');
  });

  it('items, not a TTY: plain lines at most every lineIntervalMs, plus the final one', () => {
    const stream = fakeStream(false);
    let now = -250; // created 250 ms before the first image is done
    const bar = new Progress({ label: 'explain', unit: 'images', total: 40, stream, now: () => now, lineIntervalMs: 5000 });
    for (let i = 0; i < 40; i++) {
      now = i * 250; // 4 images/s
      bar.tick();
    }
    bar.finish();
    const lines = stream.out.trimEnd().split('\n');
    expect(stream.out).not.toContain('\r');
    // Drawn at t = 0 s and 5 s (ticks 1 and 21), and once by finish.
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe('explain [#############...........]  53% 21/40 images 4.00 images/s ETA 0:05');
    expect(lines[2]).toMatch(/^explain \[#{24}\] 100% 40\/40 images 4\.00 images\/s in 0:10$/);
  });

  it('unknown total: count and rate only; disabled: silent; long lines cut to the terminal width', () => {
    let now = 0;
    const unknown = new Progress({ label: 'f', stream: fakeStream(false), now: () => now });
    unknown.update(0);
    now = 1000;
    unknown.update(2_500_000);
    expect(unknown.line()).toBe('f 2.50 MB 2.50 MB/s');

    const quiet = fakeStream(true);
    const off = new Progress({ label: 'q', total: 10, stream: quiet, enabled: false });
    off.update(5);
    off.finish();
    expect(quiet.out).toBe('');

    const narrow = fakeStream(true, 30);
    new Progress({ label: 'a-very-long-model-name', total: 10, stream: narrow }).update(1);
    expect(narrow.out).toBe(`\r${'a-very-long-model-name [##....'.slice(0, 29)}`);
  });
});
