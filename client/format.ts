/** Human-readable report and progress. */
import type { CollectionReport, Progress } from '../workflows/types';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function formatProgress(p: Progress): string {
  const f = p.files;
  const shards = p.shards ? `shards ${p.shards.done}/${p.shards.total} (${p.shards.running.length} running), ` : '';
  return `${p.phase}${p.mode ? ` (${p.mode})` : ''}: ${shards}batches ${p.batches.done}/${p.batches.total}, files copied ${f.copied}/${f.planned}, skipped ${f.skipped}, failed ${f.failed}, fallback ${f.fallback}, not published ${f.notPublished}, ${formatBytes(p.bytes)}`;
}

/** What the destination store honours, as the probe found by trying (✓ honoured, ✗ ignored, ? unclear). */
export function formatGuards(probe: CollectionReport['probe']): string {
  const mark = (h: boolean | null) => (h === null ? '?' : h ? '✓' : '✗');
  const g = probe.guards;
  const copy = `SHA-256 of a copy ${probe.storeChecksum.supported ? '✓' : '✗'}`;
  if (!g) return `${copy}; guards not tried`;
  return [
    copy,
    `conditional copy ${mark(g.conditionalCopy.honoured)}`,
    `conditional PUT ${mark(g.conditionalPut.honoured)}`,
    `conditional DELETE ${mark(g.conditionalDelete.honoured)}`,
    `PUT checksum checked ${mark(g.putChecksum.honoured)}`,
    `copy if absent ${mark(g.conditionalCopyIfAbsent?.honoured ?? null)}`,
  ].join(', ');
}

export function formatReport(r: CollectionReport): string {
  const proofs =
    Object.entries(r.files.byProof)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  const rows: [string, string][] = [
    ['result', r.verdict],
    ['collection', `${r.summary} (${r.collectionId})`],
    ['discovery', formatDiscovery(r)],
    ['shards', `${r.shards.total}${r.shards.failed ? `, ${r.shards.failed} failed: ${r.shards.firstFailure}` : ''}`],
    [
      'coverage',
      `${r.coverage.series} series: ${r.coverage.complete} complete, ${r.coverage.incomplete} incomplete (${r.coverage.missingFiles} files missing), ${r.coverage.empty} empty; ${r.coverage.withArchiveGaps} with gaps in the archive (${r.coverage.archiveGapPeriods} periods)`,
    ],
    ['mode', `${r.decision.mode}: ${r.decision.reason}`],
    ['store', formatGuards(r.probe)],
    [
      'files',
      `${r.files.total} total: ${Object.entries(r.files.byOutcome)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    ],
    ['proof', `${proofs} (sha256: the bytes matched their .CHECKSUM)`],
    [
      'proven by',
      Object.entries(r.files.byProofMethod ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || '-',
    ],
    [
      'direct sync',
      `copied ${r.files.byMode.direct_sync.copied}, checksum mismatch ${r.files.byMode.direct_sync.checksumMismatch}, failed ${r.files.byMode.direct_sync.failed}`,
    ],
    [
      'traditional',
      `copied ${r.files.byMode.traditional.copied}, checksum mismatch ${r.files.byMode.traditional.checksumMismatch}, failed ${r.files.byMode.traditional.failed}`,
    ],
    ['fallbacks', `${r.fallbacks.files} files in ${r.fallbacks.batches} batches`],
    ['bytes', `${formatBytes(r.bytes.copied)} copied, ${formatBytes(r.bytes.throughWorker)} through the worker`],
    ['S3 requests', String(r.s3Requests)],
    ['peak local disk', formatBytes(r.peakLocalDiskBytes)],
    [
      'time',
      Object.entries(r.phaseMs)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}s`)
        .join(', '),
    ],
    ['workflow runs', String(r.workflowRuns)],
    ['manifest', `s3://${r.manifest.bucket}/${r.manifest.key}`],
    ['report', `s3://${r.manifest.bucket}/${r.reportKey}`],
    [
      'coverage table',
      `s3://${r.manifest.bucket}/${r.coverage.keys.csv} (schema ${r.coverage.keys.schema.slice(r.coverage.keys.schema.lastIndexOf('/') + 1)}, also .json)`,
    ],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

function formatDiscovery(r: CollectionReport): string {
  const d = r.discovery;
  const how = d.discovered
    ? `found by listing the archive (${d.listings} delimited listings, ${(d.ms / 1000).toFixed(1)}s)`
    : 'as named';
  const sample =
    d.symbols > d.symbolSample.length
      ? `${d.symbolSample.join(', ')}, … (${d.symbols} symbols)`
      : d.symbolSample.join(', ');
  const skipped = d.skipped.length ? `; left out: ${d.skipped.join('; ')}` : '';
  return `${d.series} series ${how}: ${d.dataTypes.join(', ')}${d.intervals.length ? ` ${d.intervals.join(', ')}` : ''}; ${sample}${skipped}`;
}

const usd = (x: number) => `$${x.toFixed(x < 1 ? 4 : 2)}`;

/** The plan's answer: what a collect run would do and cost. */
export function formatPlan(r: CollectionReport): string {
  const p = r.plan;
  if (!p) return 'no plan in this report (only action "plan" estimates)';
  const n = (x: number) => x.toLocaleString('en-US');
  const rows: [string, string][] = [
    [
      'published files',
      `${n(p.files)}${p.missingChecksum ? ` (${n(p.missingChecksum)} without .CHECKSUM, not collectable)` : ''}; ${formatBytes(p.bytes)} collectable`,
    ],
    ['already verified', `${n(p.alreadyPresent)} (${formatBytes(p.alreadyPresentBytes)})`],
    [
      'to copy',
      `${n(p.toCopy)}${p.toReplace ? ` + ${n(p.toReplace)} replacements` : ''} (${formatBytes(p.toCopyBytes)})`,
    ],
    ['to prove in place', n(p.toProveInPlace)],
    ['not published', n(p.notPublished)],
    ['without .CHECKSUM', n(p.missingChecksum)],
    [
      'requests',
      `${n(p.requests.collectPutCopyList)} PUT/COPY + ${n(p.requests.collectGetHead)} GET/HEAD (this plan listed with ${n(p.requests.listing)})`,
    ],
    [
      'estimated cost',
      `${usd(p.costUsd.total)} (requests ${usd(p.costUsd.requests)}, transfer ${usd(p.costUsd.transfer)}); storage ${usd(p.costUsd.storagePerMonth)}/month`,
    ],
    ['assumptions', p.assumptions],
    ...(p.inspection
      ? ([
          [
            'inspection (if asked)',
            `at most ${n(p.inspection.files)} files, ${formatBytes(p.inspection.bytes)} read once: ${usd(p.inspection.costUsd.requests)} in requests, + ${usd(p.inspection.costUsd.transferOutsideRegion)} transfer from a worker outside the region`,
          ],
        ] as [string, string][])
      : []),
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return ['PLAN', ...rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`)].join('\n');
}

/** The coverage table: one line per series, with its timeline (the series a person looks at first come first). */
export function formatCoverage(r: CollectionReport): string {
  const c = r.coverage;
  const name = (x: CollectionReport['coverage']['rows'][number]) =>
    `${x.market} ${x.dataType} ${x.symbol}${x.interval ? ` ${x.interval}` : ''}`;
  const withContent = c.rows.some((x) => x.contentKnown !== undefined);
  const header = [
    'series',
    'first',
    'last',
    'published',
    'gaps',
    'verified',
    'missing',
    ...(withContent ? ['inspected', 'cut short', 'content gaps'] : []),
    'timeline',
  ];
  const lines = c.rows.map((x) => [
    name(x),
    x.first ?? '-',
    x.last ?? '-',
    String(x.published),
    String(x.archiveGaps),
    String(x.verified),
    String(x.missing),
    ...(withContent ? [String(x.contentKnown ?? 0), String(x.cutShort ?? 0), String(x.contentGaps ?? 0)] : []),
    `${x.timeline}  ${x.timelineScale}`,
  ]);
  const lastNumber = withContent ? 9 : 6;
  const widths = header.map((h, i) =>
    Math.max(h.length, ...lines.map((l) => (i === header.length - 1 ? 0 : l[i].length))),
  );
  const fmt = (cells: string[]) =>
    cells
      .map((v, i) =>
        i === cells.length - 1 ? v : i >= 3 && i <= lastNumber ? v.padStart(widths[i]) : v.padEnd(widths[i]),
      )
      .join('  ');
  const details = c.rows
    .filter((x) => x.archiveGapRanges || x.missingRanges || x.cutShortRanges || x.seriesBreaks)
    .slice(0, 20)
    .flatMap((x) => [
      ...(x.archiveGapRanges ? [`  ${name(x)}: archive gaps ${x.archiveGapRanges}`] : []),
      ...(x.missingRanges ? [`  ${name(x)}: missing in the destination ${x.missingRanges}`] : []),
      ...(x.cutShortRanges ? [`  ${name(x)}: cut short ${x.cutShortRanges}`] : []),
      ...(x.seriesBreaks ? [`  ${name(x)}: ${x.seriesBreaks} breaks between consecutive files`] : []),
    ]);
  const content = c.content;
  const contentLine =
    content && (content.known || content.failure)
      ? [
          `CONTENT  ${content.known} verified files inspected: ${content.whole} whole, ${content.gaps} with interior gaps, ${content.cutShort} cut short, ${content.unknown} unknown; ${content.seriesBreaks} breaks between files${content.notInspected ? `; ${content.notInspected} not inspected yet` : ''}${content.failure ? `; ${content.failure}` : ''}`,
        ]
      : [];
  return [
    `COVERAGE  ${c.series} series: ${c.complete} complete, ${c.incomplete} incomplete, ${c.empty} empty; ${c.missingFiles} files missing; ${c.withArchiveGaps} series with archive gaps`,
    ...contentLine,
    fmt(header),
    ...lines.map(fmt),
    ...(c.rowsOmitted ? [`… ${c.rowsOmitted} more series in s3://${r.manifest.bucket}/${c.keys.csv}`] : []),
    ...(details.length ? ['', ...details] : []),
    '',
    `legend: ${c.legend}`,
  ].join('\n');
}
