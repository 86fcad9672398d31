/** Quarantine review from the client: each action runs as a reviewQuarantine workflow on a worker. */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { reviewQuarantine } from '../workflows';
import type { ReviewRequestInput } from '../workflows/review';
import type { QuarantinedFile } from '../activities/quarantine-review';
import { formatBytes } from './format';

export async function runReview(client: Client, taskQueue: string, request: ReviewRequestInput) {
  return client.workflow.execute(reviewQuarantine, {
    taskQueue,
    workflowId: `quarantine-${request.action}-${randomUUID().slice(0, 8)}`,
    args: [request],
    staticSummary: request.action === 'list' ? 'list quarantined files' : `${request.action} ${request.key}`,
  });
}

export function formatQuarantine(r: {
  bucket: string;
  prefix: string;
  files: QuarantinedFile[];
  more: number;
}): string {
  if (!r.files.length) return `nothing quarantined in s3://${r.bucket}/${r.prefix}_quarantine/`;
  const lines = r.files.map((f) => {
    const e = f.evidence;
    const kept = f.final
      ? `destination keeps ETag ${f.final.etag} (${formatBytes(f.final.size)})`
      : 'destination has no copy';
    return [
      `${e?.outcome ?? 'unknown'}  ${f.key}`,
      `    put aside: ${formatBytes(f.size)}, SHA-256 ${e?.actualSha256 ?? '?'}, from source ETag ${e?.source.etag ?? '?'} (${e ? formatBytes(e.source.size) : '?'})`,
      `    .CHECKSUM says ${e?.expectedSha256 ?? '(none)'}; ${kept}`,
      `    ${e?.reason ?? ''}`,
    ].join('\n');
  });
  return `${lines.join('\n')}${r.more ? `\n… and ${r.more} more (--limit)` : ''}\naccept one with: quarantine accept <key> --sha256 <its SHA-256 above> --reason "…"   discard: quarantine discard <key>`;
}
