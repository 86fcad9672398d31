/**
 * The project's errors, one base: each is an ApplicationFailure whose type is its class name and which
 * says itself whether a retry can help (so no retry policy has to list names in step with this file).
 * Safe in workflow code: it imports nothing but @temporalio/common.
 */
import { ApplicationFailure } from '@temporalio/common';

export abstract class CollectorError extends ApplicationFailure {
  constructor(type: string, message: string, nonRetryable: boolean) {
    super(message, type, nonRetryable);
    Object.defineProperty(this, 'name', { value: type });
  }
}

/** Credentials or a bucket policy refuse the request: fix them, then run again. */
export class AccessDeniedError extends CollectorError {
  constructor(message: string) {
    super('AccessDeniedError', message, true);
  }
}
/** Input no retry can make valid (a key, a name, a configuration value). */
export class InvalidInputError extends CollectorError {
  constructor(message: string) {
    super('InvalidInputError', message, true);
  }
}
/** Staging has no room right now: retried once other batches free it. */
export class StagingFullError extends CollectorError {
  constructor(message: string) {
    super('StagingFullError', message, false);
  }
}
/** s5cmd failed a whole run: retried, then the batch takes the traditional path. */
export class S5cmdBatchError extends CollectorError {
  constructor(message: string) {
    super('S5cmdBatchError', message, false);
  }
}
/** A file that cannot fit the staging space at all: no retry helps. */
export class FileTooLargeError extends CollectorError {
  constructor(message: string) {
    super('FileTooLargeError', message, true);
  }
}
/** The store gave no ETag (or a weak one) for bytes a proof would bind: no retry makes it evidence. */
export class UnboundEvidenceError extends CollectorError {
  constructor(message: string) {
    super('UnboundEvidenceError', message, true);
  }
}
/** A shard's state objects contradict each other (e.g. plan objects out of key order): no retry changes them. */
export class ShardStateError extends CollectorError {
  constructor(message: string) {
    super('ShardStateError', message, true);
  }
}
/** An activity stopped making progress for longer than its work can justify: retried, maybe elsewhere. */
export class StalledError extends CollectorError {
  constructor(message: string) {
    super('StalledError', message, false);
  }
}

/** The request itself is wrong for the archive or the worker: the collection fails at once, under this type. */
abstract class RequestError extends CollectorError {
  constructor(
    type: string,
    message: string,
    readonly collectionFailure: string,
  ) {
    super(type, message, true);
  }
}
/** A requested series the archive does not hold. */
export class SeriesNotInArchiveError extends RequestError {
  constructor(message: string) {
    super('SeriesNotInArchiveError', message, 'SeriesNotInArchive');
  }
}
/** A pattern of the request (symbols, dataTypes) that matches nothing the archive lists. */
export class NothingMatchesError extends RequestError {
  constructor(message: string) {
    super('NothingMatchesError', message, 'NothingMatches');
  }
}
/** The request selects more files than its ceiling (maxFiles) allows. */
export class CollectionTooLargeError extends RequestError {
  constructor(message: string) {
    super('CollectionTooLargeError', message, 'CollectionTooLarge');
  }
}
/** A destination outside the worker's DEST_ALLOWED list. */
export class DestinationNotAllowedError extends RequestError {
  constructor(message: string) {
    super('DestinationNotAllowedError', message, 'DestinationNotAllowed');
  }
}

/** Activity failure type → the type the collection fails with (derived from the classes above). */
export const REQUEST_ERRORS: Record<string, string> = Object.fromEntries(
  [SeriesNotInArchiveError, NothingMatchesError, CollectionTooLargeError, DestinationNotAllowedError].map((E) => {
    const e = new E('');
    return [e.type, e.collectionFailure];
  }),
);
