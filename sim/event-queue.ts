/**
 * Min-heap of timed simulator events. Ties on time break on insertion order, so the
 * schedule is a pure function of the seed.
 */
export class EventQueue<T> {
  private times: number[] = [];
  private seqs: number[] = [];
  private items: T[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  push(time: number, item: T): void {
    let i = this.items.length;
    this.times.push(time);
    this.seqs.push(this.seq++);
    this.items.push(item);
    // sift up
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  peekTime(): number | undefined {
    return this.items.length > 0 ? this.times[0] : undefined;
  }

  pop(): { time: number; item: T } | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const time = this.times[0];
    const item = this.items[0];
    const last = n - 1;
    if (last > 0) this.swap(0, last);
    this.times.pop();
    this.seqs.pop();
    this.items.pop();
    // sift down
    let i = 0;
    const m = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= m) break;
      const r = l + 1;
      const c = r < m && this.less(r, l) ? r : l;
      if (!this.less(c, i)) break;
      this.swap(c, i);
      i = c;
    }
    return { time, item };
  }

  private less(i: number, j: number): boolean {
    const ti = this.times[i];
    const tj = this.times[j];
    return ti < tj || (ti === tj && this.seqs[i] < this.seqs[j]);
  }

  private swap(i: number, j: number): void {
    const t = this.times[i];
    this.times[i] = this.times[j];
    this.times[j] = t;
    const s = this.seqs[i];
    this.seqs[i] = this.seqs[j];
    this.seqs[j] = s;
    const x = this.items[i];
    this.items[i] = this.items[j];
    this.items[j] = x;
  }
}
