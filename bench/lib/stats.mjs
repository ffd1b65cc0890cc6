// Aggregation of repeated measurements.

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function max(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length ? Math.max(...v) : undefined;
}

/**
 * Combines the per-repetition results of one phase on one server: medians of every figure,
 * except peak RSS, which is the largest seen in any repetition.
 */
export function combine(samples) {
  const keys = new Set(samples.flatMap((s) => Object.keys(s)));
  const out = {};
  for (const key of keys) {
    const values = samples.map((s) => s[key]);
    if (key === 'peakRss' || key === 'peakPss') out[key] = max(values);
    else if (values.every((x) => typeof x === 'number')) out[key] = median(values);
    else if (values.every((x) => typeof x === 'string' && x === values[0])) out[key] = values[0];
    else if (key === 'warnings') out[key] = [...new Set(values.flat().filter(Boolean))];
  }
  out.samples = samples.length;
  return out;
}
