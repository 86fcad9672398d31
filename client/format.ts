/** Human-readable report and progress. */
import type { CollectionReport, Progress } from '../workflows/types';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function formatProgress(p: Progress): string {
  const f = p.files;
  return `${p.phase}${p.mode ? ` (${p.mode})` : ''}: batches ${p.batches.done}/${p.batches.total}, files copied ${f.copied}/${f.planned}, skipped ${f.skipped}, failed ${f.failed}, fallback ${f.fallback}, not published ${f.notPublished}, ${formatBytes(p.bytes)}`;
}

export function formatReport(r: CollectionReport): string {
  const proofs = Object.entries(r.files.byProof).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const rows: [string, string][] = [
    ['result', r.verdict],
    ['collection', `${r.summary} (${r.collectionId})`],
    ['mode', `${r.decision.mode}: ${r.decision.reason}`],
    ['files', `${r.files.total} total: ${Object.entries(r.files.byOutcome).map(([k, v]) => `${k} ${v}`).join(', ')}`],
    ['proof', `${proofs} (sha256: the bytes matched their .CHECKSUM)`],
    ['proven by', Object.entries(r.files.byProofMethod ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || '-'],
    ['direct sync', `copied ${r.files.byMode.direct_sync.copied}, checksum mismatch ${r.files.byMode.direct_sync.checksumMismatch}, failed ${r.files.byMode.direct_sync.failed}`],
    ['traditional', `copied ${r.files.byMode.traditional.copied}, checksum mismatch ${r.files.byMode.traditional.checksumMismatch}, failed ${r.files.byMode.traditional.failed}`],
    ['fallbacks', `${r.fallbacks.files} files in ${r.fallbacks.batches} batches`],
    ['bytes', `${formatBytes(r.bytes.copied)} copied, ${formatBytes(r.bytes.throughWorker)} through the worker`],
    ['S3 requests', String(r.s3Requests)],
    ['peak local disk', formatBytes(r.peakLocalDiskBytes)],
    ['time', Object.entries(r.phaseMs).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}s`).join(', ')],
    ['workflow runs', String(r.workflowRuns)],
    ['manifest', `s3://${r.manifest.bucket}/${r.manifest.key}`],
    ['report', `s3://${r.manifest.bucket}/${r.reportKey}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
