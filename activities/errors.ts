/** Reading S3 errors: access denied (not retryable) and not found. The error classes are in common/errors.ts. */
import { AccessDeniedError } from '../common/errors';

export * from '../common/errors';

const ACCESS_DENIED = /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|AllAccessDisabled|Forbidden|\b403\b/i;

export function isAccessDenied(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e?.$metadata?.httpStatusCode === 403 || ACCESS_DENIED.test(`${e?.name ?? ''} ${e?.Code ?? ''} ${e?.message ?? ''}`)
  );
}

export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.$metadata?.httpStatusCode === 404 || e?.name === 'NoSuchKey' || e?.name === 'NotFound';
}

/** The store refused a conditional request (If-None-Match, If-Match): 412. */
export function isPreconditionFailed(err: unknown): boolean {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412;
}

/** Turns an S3 access error into the non-retryable kind, with what to fix. */
export function classifyS3Error(err: unknown, what: string): Error {
  if (isAccessDenied(err)) {
    return new AccessDeniedError(
      `${what}: access denied (${(err as Error).message}). Check the worker's credentials and the bucket policy.`,
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}
