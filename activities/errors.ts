/**
 * Error classes whose names the workflow's retry policies list as non-retryable.
 * Temporal records an activity error as ApplicationFailure with type = the class name.
 */
export class AccessDeniedError extends Error {
  name = 'AccessDeniedError';
}
export class InvalidInputError extends Error {
  name = 'InvalidInputError';
}
export class StagingFullError extends Error {
  name = 'StagingFullError';
}
export class S5cmdBatchError extends Error {
  name = 'S5cmdBatchError';
}
/** A requested series the archive does not hold: no retry can find it. */
export class SeriesNotInArchiveError extends Error {
  name = 'SeriesNotInArchiveError';
}
/** A pattern of the request (symbols, dataTypes) that matches nothing the archive lists. */
export class NothingMatchesError extends Error {
  name = 'NothingMatchesError';
}
/** The request selects more files than its ceiling (maxFiles) allows. */
export class CollectionTooLargeError extends Error {
  name = 'CollectionTooLargeError';
}
/** A destination outside the worker's DEST_ALLOWED list: the request must aim elsewhere, or the operator widen the list. */
export class DestinationNotAllowedError extends Error {
  name = 'DestinationNotAllowedError';
}
/** A file that cannot fit the staging space at all: no retry helps. */
export class FileTooLargeError extends Error {
  name = 'FileTooLargeError';
}
/** An activity stopped making progress for longer than its work can justify: retried, maybe elsewhere. */
export class StalledError extends Error {
  name = 'StalledError';
}

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

/** Turns an S3 access error into the non-retryable kind, with what to fix. */
export function classifyS3Error(err: unknown, what: string): Error {
  if (isAccessDenied(err)) {
    return new AccessDeniedError(
      `${what}: access denied (${(err as Error).message}). Check the worker's credentials and the bucket policy.`,
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}
