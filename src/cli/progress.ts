/**
 * A terminal progress bar for anything counted: bytes of a download (unit 'B': sizes and rates
 * in kB/MB/GB) or items of a batch (any other unit label, e.g. 'images'). On a TTY it redraws one
 * line in place with \r; elsewhere (CI logs, pipes) it prints a plain line now and then, so logs
 * stay short. Disabled, it writes nothing.
 */

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Text before the bar, e.g. the model or file name. */
  label: string;
  /** 'B' formats counts as bytes (kB, MB, GB, decimal); anything else is a label: '12/40 images'. */
  unit?: string;
  /** Expected count; unknown totals show the count and rate without bar, percentage or ETA. */
  total?: number;
  /** Default process.stderr (stdout stays free for --json output). */
  stream?: ProgressStream;
  /** false: silent (e.g. --quiet or --json). Default true. */
  enabled?: boolean;
  /** Milliseconds between redraws on a TTY (default 100) and between lines elsewhere (default 10 s). */
  ttyIntervalMs?: number;
  lineIntervalMs?: number;
  /** Clock in milliseconds, for tests. Default performance.now. */
  now?: () => number;
}

const BAR_WIDTH = 24;

function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h > 0 ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class Progress {
  private readonly unit: string;
  private readonly stream: ProgressStream;
  private readonly enabled: boolean;
  private readonly tty: boolean;
  private readonly interval: number;
  private readonly now: () => number;
  private total?: number;
  private done = 0;
  /** Where the rate starts: the bar's creation, or the first update(). */
  private startCount?: number;
  private startTime: number;
  private lastDraw = -Infinity;
  private lastWidth = 0;
  private lastText = '';
  private finished = false;

  constructor(private readonly options: ProgressOptions) {
    this.unit = options.unit ?? 'B';
    this.stream = options.stream ?? process.stderr;
    this.enabled = options.enabled ?? true;
    this.tty = this.stream.isTTY === true;
    this.interval = this.tty ? options.ttyIntervalMs ?? 100 : options.lineIntervalMs ?? 10_000;
    this.now = options.now ?? (() => performance.now());
    this.total = options.total;
    this.startTime = this.now();
  }

  private set(done: number, total: number | undefined, rebase: boolean): void {
    if (total !== undefined) this.total = total;
    this.done = done;
    const t = this.now();
    if (rebase) {
      this.startCount = done;
      this.startTime = t;
    }
    this.startCount ??= 0;
    if (t - this.lastDraw >= this.interval) this.draw(t);
  }

  /**
   * Sets the count reached so far (and the total, once it is known). Draws at most once per
   * interval. The first call sets where the rate starts: a resumed download's earlier bytes do
   * not count as received in this run.
   */
  update(done: number, total?: number): void {
    this.set(done, total, this.startCount === undefined);
  }

  /** Adds to the count (items done one at a time); the rate counts from the bar's creation. */
  tick(count = 1): void {
    this.set(this.done + count, undefined, false);
  }

  /** Draws the final state and ends the line. Further calls do nothing. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.enabled) return;
    this.draw(this.now());
    if (this.tty) this.stream.write('\n');
  }

  /** Items (or bytes) per second since the first update. */
  rate(at = this.now()): number {
    const seconds = (at - this.startTime) / 1000;
    return this.startCount === undefined || seconds <= 0 ? 0 : (this.done - this.startCount) / seconds;
  }

  /** The status line without any terminal control characters. */
  line(at = this.now()): string {
    const bytes = this.unit === 'B';
    const count = (n: number) => (bytes ? formatBytes(n) : String(n));
    const rate = this.rate(at);
    const rateText = bytes ? `${formatBytes(rate)}/s` : `${rate < 10 ? rate.toFixed(2) : rate.toFixed(1)} ${this.unit}/s`;
    const parts = [this.options.label];
    if (this.total !== undefined && this.total > 0) {
      const fraction = Math.min(1, this.done / this.total);
      const filled = Math.round(fraction * BAR_WIDTH);
      const eta = rate > 0 ? (this.total - this.done) / rate : Infinity;
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`, `${(fraction * 100).toFixed(0).padStart(3)}%`);
      parts.push(bytes ? `${count(this.done)}/${count(this.total)}` : `${this.done}/${this.total} ${this.unit}`);
      parts.push(rateText, this.done >= this.total ? `in ${formatDuration((at - this.startTime) / 1000)}` : `ETA ${formatDuration(eta)}`);
    } else {
      parts.push(bytes ? count(this.done) : `${this.done} ${this.unit}`, rateText);
    }
    return parts.join(' ');
  }

  private draw(at: number): void {
    this.lastDraw = at;
    if (!this.enabled) return;
    let text = this.line(at);
    if (text === this.lastText) return;
    this.lastText = text;
    if (!this.tty) {
      this.stream.write(`${text}\n`);
      return;
    }
    const columns = this.stream.columns ?? 80;
    if (text.length > columns - 1) text = text.slice(0, columns - 1);
    // Pad over what the previous, longer line left on screen.
    this.stream.write(`\r${text}${' '.repeat(Math.max(0, this.lastWidth - text.length))}`);
    this.lastWidth = text.length;
  }
}
