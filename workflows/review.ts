/**
 * reviewQuarantine: list the files put aside for review, or accept or discard one. It runs on a
 * worker (only workers hold the destination's credentials), and its history records who decided
 * what, when and why.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { z } from 'zod';
import type { Activities } from '../activities';
import { Destination, describeIssues } from './request';

const ARCHIVE_KEY = /^data\/(?:[\p{L}\p{N}_=.-]+\/)+[\p{L}\p{N}_=.-]+\.zip$/u;

const sha256 = z
  .string()
  .regex(
    /^[0-9a-f]{64}$/,
    'must be the SHA-256 of the quarantined bytes you reviewed, as "quarantine list" prints it (64 hex digits)',
  );

const archiveKey = z
  .string()
  .regex(
    ARCHIVE_KEY,
    'must be an archive key such as data/spot/monthly/aggTrades/BNBBTC/BNBBTC-aggTrades-2018-01.zip (as "quarantine list" prints it)',
  )
  .refine((k) => !k.split('/').some((seg) => seg === '.' || seg === '..'), 'must not contain "." or ".." segments');

export const ReviewRequest = z.discriminatedUnion('action', [
  z
    .object({
      action: z.literal('list'),
      destination: Destination.default({}),
      limit: z.number().int().min(1).max(1_000).default(200),
    })
    .strict(),
  z
    .object({
      action: z.literal('accept'),
      destination: Destination.default({}),
      key: archiveKey,
      sha256,
      reason: z.string().trim().min(3, 'give the reason the bytes are right (at least 3 characters)').max(500),
    })
    .strict(),
  z
    .object({
      action: z.literal('discard'),
      destination: Destination.default({}),
      key: archiveKey,
      sha256: sha256.optional(),
      reason: z.string().max(500).optional(),
    })
    .strict(),
]);
export type ReviewRequestInput = z.input<typeof ReviewRequest>;

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  retry: {
    initialInterval: '1s',
    maximumInterval: '30s',
    // AccessDeniedError and InvalidInputError are not retried: they say so themselves (common/errors.ts).
    maximumAttempts: 5,
  },
});

export async function reviewQuarantine(input: unknown) {
  const parsed = ReviewRequest.safeParse(input ?? {});
  if (!parsed.success) {
    const problems = describeIssues(parsed.error, (path) =>
      path.length === 0
        ? ['action', 'destination', 'limit', 'key', 'sha256', 'reason']
        : path[0] === 'destination'
          ? ['bucket', 'prefix']
          : [],
    );
    throw ApplicationFailure.nonRetryable(
      `invalid review request:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      'InvalidReviewRequest',
      { problems },
    );
  }
  const r = parsed.data;
  const target = { bucket: r.destination.bucket, prefix: r.destination.prefix };
  try {
    switch (r.action) {
      case 'list':
        return await acts.listQuarantine({ ...target, limit: r.limit });
      case 'accept':
        return await acts.acceptQuarantined({
          ...target,
          key: r.key,
          sha256: r.sha256,
          reason: r.reason,
          decidedBy: `review ${workflowInfo().workflowId}`,
        });
      case 'discard':
        return await acts.discardQuarantined({ ...target, key: r.key, sha256: r.sha256 });
    }
  } catch (err) {
    // A decision that no longer matches the destination: say why at the top, as for bad input.
    if (
      err instanceof ActivityFailure &&
      err.cause instanceof ApplicationFailure &&
      err.cause.type === 'InvalidInputError'
    ) {
      throw ApplicationFailure.nonRetryable(err.cause.message, 'InvalidReviewRequest');
    }
    throw err;
  }
}
