/** The S3 lifecycle rules for what the product keeps beside the data (docs/retention.md). */
import { z } from 'zod';
import { issueLines } from '../common/zod-issues';

export const RetentionOptions = z.object({
  prefix: z.string().regex(/^(?:[A-Za-z0-9_=.-]+\/)*$/, 'must be empty or end with "/", e.g. binance/'),
  quarantineDays: z.number().int().min(1).default(90),
  recordsDays: z.number().int().min(1).default(400),
  /** 0 leaves the rule out: MinIO refuses it (it expires stale uploads itself, `api stale_uploads_expiry`, 24 h). */
  incompleteUploadDays: z.number().int().min(0).default(7),
});
export type RetentionOptions = z.input<typeof RetentionOptions>;

/**
 * Rules for `put-bucket-lifecycle-configuration`. Never for `data/` (the copy) or `_verified/` (the proof of
 * each file: without it the next run hashes the file again).
 */
export function lifecycleConfiguration(input: RetentionOptions) {
  const parsed = RetentionOptions.safeParse(input);
  if (!parsed.success) {
    const flag = (path: readonly PropertyKey[]) =>
      `--${String(path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new Error(issueLines(parsed.error, flag).join('; '));
  }
  const o = parsed.data;
  const name = o.prefix.replace(/\/$/, '').replace(/\//g, '-') || 'root';
  return {
    Rules: [
      {
        ID: `archive-collector-quarantine-${name}`,
        Status: 'Enabled',
        Filter: { Prefix: `${o.prefix}_quarantine/` },
        Expiration: { Days: o.quarantineDays },
      },
      {
        ID: `archive-collector-collection-records-${name}`,
        Status: 'Enabled',
        Filter: { Prefix: `${o.prefix}_collections/` },
        Expiration: { Days: o.recordsDays },
      },
      ...(o.incompleteUploadDays
        ? [
            {
              ID: `archive-collector-incomplete-uploads-${name}`,
              Status: 'Enabled',
              Filter: { Prefix: o.prefix },
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: o.incompleteUploadDays },
            },
          ]
        : []),
    ],
  };
}
