/** A small LRU map bounded by total weight (bytes for manifests, 1 per entry otherwise). */
export class LruCache<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private total = 0;

  constructor(
    private readonly maxWeight: number,
    private readonly weigh: (value: V) => number = () => 1,
    /** Called for a value pushed out (least recently used, replaced or deleted), not for {@link take}. */
    private readonly onEvict?: (value: V) => void,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V): void {
    const weight = this.weigh(value);
    if (weight > this.maxWeight) {
      this.delete(key);
      this.onEvict?.(value);
      return;
    }
    const previous = this.take(key);
    if (previous !== undefined && previous !== value) this.onEvict?.(previous);
    this.entries.set(key, { value, weight });
    this.total += weight;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.maxWeight) break;
      this.entries.delete(oldest);
      this.total -= entry.weight;
      this.onEvict?.(entry.value);
    }
  }

  delete(key: K): void {
    const value = this.take(key);
    if (value !== undefined) this.onEvict?.(value);
  }

  /** Removes the entry and hands its value to the caller (no eviction callback). */
  take(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.total -= entry.weight;
    return entry.value;
  }
}
