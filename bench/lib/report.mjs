// Turns the measurements into rows (figure, zot-ts, distribution, ratios, target, met?) and prints them.
// Targets are issue 6's, for the plain-HTTP pass; the auth passes are held to "within 2x of unauthenticated".

const MB = 1e6;
const RSS_LIMIT = 150 * MB;

/** @returns {Array<object>} rows, in print order */
export function buildRows(results) {
  const rows = [];
  const sha = results.references.sha256;
  for (const [passName, pass] of Object.entries(results.passes)) {
    const plain = passName === 'plain';
    const unauthName = passName === 'auth' ? 'plain' : passName === 'tls+auth' ? 'tls' : undefined;
    const unauth = unauthName ? results.passes[unauthName] : undefined;
    const add = (row) => rows.push({ pass: passName, ...row });
    const get = (phase, server, key) => pass.phases[phase]?.[server]?.[key];

    for (const [id, phase] of Object.entries(pass.phases)) {
      const z = (key) => get(id, 'zot', key);
      const d = (key) => get(id, 'distribution', key);
      if (id === 'push' || id === 'chunked') {
        const factor = id === 'push' ? 0.75 : 0.6;
        add(
          figure(`${phase.title} (MB/s)`, z('mbps'), d('mbps'), {
            limitName: 'SHA-256/core',
            limit: sha,
            target: plain ? `>= ${factor}x SHA-256` : undefined,
            met: plain && sha ? z('mbps') / (sha / MB) >= factor : undefined,
          }),
        );
        const dd = phase.references?.dd?.mbps;
        if (dd !== undefined) {
          add(figure(`  ${phase.title} vs storage write (MB/s)`, z('mbps'), d('mbps'), { limitName: 'dd write+fsync', limit: dd * MB }));
        }
        const receive = phase.references?.receive?.mbps;
        if (receive !== undefined) {
          add(figure(`  ${phase.title} vs receive only (MB/s)`, z('mbps'), d('mbps'), { limitName: 'node receive', limit: receive * MB }));
        }
        const store = phase.references?.store?.mbps;
        if (store !== undefined) {
          add(figure(`  ${phase.title} vs minimal store (MB/s)`, z('mbps'), d('mbps'), { limitName: 'node store', limit: store * MB }));
        }
      } else if (id === 'pull') {
        const ngx = phase.references?.nginx?.mbps;
        add(
          figure(`${phase.title} (MB/s)`, z('mbps'), d('mbps'), {
            limitName: 'nginx',
            limit: ngx === undefined ? undefined : ngx * MB,
            target: plain ? '>= 0.9x nginx' : undefined,
            met: plain && ngx ? z('mbps') / ngx >= 0.9 : undefined,
          }),
        );
      } else if (phase.rate) {
        const factor = id === 'tags' ? 5 : 10;
        const tool = z('tool') ?? d('tool');
        const label = `${phase.title} (req/s, ${tool ?? '?'})`;
        const unauthZ = unauth?.phases[id]?.zot?.rps;
        const unauthD = unauth?.phases[id]?.distribution?.rps;
        if (unauth) {
          add(
            figure(label, z('rps'), d('rps'), {
              limitName: `unauth (${unauthName})`,
              limit: unauthZ,
              distLimit: unauthD,
              target: '>= 0.5x unauth',
              met: unauthZ ? z('rps') / unauthZ >= 0.5 : undefined,
              rate: true,
            }),
          );
        } else {
          add(
            figure(label, z('rps'), d('rps'), {
              target: plain ? `>= ${factor}x dist` : undefined,
              met: plain && d('rps') ? z('rps') / d('rps') >= factor : undefined,
              rate: true,
            }),
          );
        }
        add(figure(`${phase.title} p50 (ms)`, z('p50'), d('p50'), {}));
        const p99Target = plain && id !== 'tags';
        add(
          figure(`${phase.title} p99 (ms)`, z('p99'), d('p99'), {
            target: p99Target ? '< 20 ms' : undefined,
            met: p99Target && z('p99') !== undefined ? z('p99') < 20 : undefined,
          }),
        );
      } else if (id === 'skopeo') {
        add(
          figure(`${results.options.pushes} ${phase.title} (s)`, z('seconds'), d('seconds'), {
            target: plain ? '<= 1x dist' : undefined,
            met: plain && d('seconds') ? z('seconds') <= d('seconds') : undefined,
          }),
        );
      } else if (id === 'big') {
        const b = results.options.bigSize;
        const size = b >= 1024 ** 3 ? `${+(b / 1024 ** 3).toFixed(2)} GiB` : `${+(b / 1024 ** 2).toFixed(1)} MiB`;
        add(figure(`${size} push (MB/s)`, z('pushMbps'), d('pushMbps'), { limitName: 'SHA-256/core', limit: sha }));
        add(figure(`${size} pull (MB/s)`, z('pullMbps'), d('pullMbps'), {}));
      }
      add(
        figure(`  peak RSS, ${phase.title} (MB)`, mb(z('peakRss')), mb(d('peakRss')), {
          target: '< 150 MB',
          met: z('peakRss') !== undefined ? z('peakRss') < RSS_LIMIT : undefined,
        }),
      );
      // Several zot-ts processes (--workers): the RSS above is their sum, which counts shared pages once per process.
      if (z('peakPss') !== undefined)
        add(figure(`  peak PSS, ${phase.title} (MB)`, mb(z('peakPss')), undefined, { target: '< 150 MB', met: z('peakPss') < RSS_LIMIT }));
    }
    const peaks = Object.values(pass.phases)
      .map((p) => p.zot?.peakRss)
      .filter((x) => x !== undefined);
    const dpeaks = Object.values(pass.phases)
      .map((p) => p.distribution?.peakRss)
      .filter((x) => x !== undefined);
    const psses = Object.values(pass.phases)
      .map((p) => p.zot?.peakPss)
      .filter((x) => x !== undefined);
    if (peaks.length > 0 || dpeaks.length > 0) {
      const zp = peaks.length ? Math.max(...peaks) : undefined;
      add(
        figure('peak RSS, whole pass (MB)', mb(zp), mb(dpeaks.length ? Math.max(...dpeaks) : undefined), {
          target: '< 150 MB',
          met: zp !== undefined ? zp < RSS_LIMIT : undefined,
        }),
      );
    }
    if (psses.length > 0) {
      const pp = Math.max(...psses);
      add(figure('peak PSS, whole pass (MB)', mb(pp), undefined, { target: '< 150 MB', met: pp < RSS_LIMIT }));
    }
  }
  return rows;
}

const mb = (bytes) => (bytes === undefined ? undefined : bytes / MB);

/** limit is in bytes/s for throughput rows, in req/s for rate rows. */
function figure(name, zot, dist, { limitName, limit, distLimit, target, met, rate = false }) {
  const scale = rate ? 1 : MB;
  const lim = limit === undefined ? undefined : limit / scale;
  const dlim = distLimit === undefined ? lim : distLimit / scale;
  return {
    figure: name,
    zot,
    distribution: dist,
    zotVsDistribution: ratio(zot, dist),
    limitName,
    limit: lim,
    zotVsLimit: ratio(zot, lim),
    distributionVsLimit: ratio(dist, dlim),
    target,
    met: typeof zot === 'number' && Number.isFinite(zot) ? met : undefined,
  };
}

function ratio(a, b) {
  return typeof a === 'number' && typeof b === 'number' && b !== 0 ? a / b : undefined;
}

function fmt(x) {
  if (x === undefined || x === null) return '-';
  if (typeof x !== 'number') return String(x);
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}
const fmtRatio = (x) => (x === undefined ? '-' : `${fmt(x)}x`);

export function formatTable(rows) {
  const header = ['pass', 'figure', 'zot-ts', 'distribution', 'zot/dist', 'limit', 'zot/limit', 'dist/limit', 'target', 'met?'];
  const body = rows.map((r) => [
    r.pass,
    r.figure,
    fmt(r.zot),
    fmt(r.distribution),
    fmtRatio(r.zotVsDistribution),
    r.limitName ? `${r.limitName} ${fmt(r.limit)}` : '-',
    fmtRatio(r.zotVsLimit),
    fmtRatio(r.distributionVsLimit),
    r.target ?? '-',
    r.met === undefined ? '-' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i >= 2 && i <= 7 && i !== 5 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
