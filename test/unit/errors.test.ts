import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure, defaultFailureConverter, defaultPayloadConverter } from '@temporalio/common';
import * as errors from '../../common/errors';

describe('errors: one base, each says whether a retry can help', () => {
  it('each class is an ApplicationFailure typed by its name, retryable or not by itself', () => {
    const expected: Record<string, boolean> = {
      AccessDeniedError: true,
      InvalidInputError: true,
      FileTooLargeError: true,
      SeriesNotInArchiveError: true,
      NothingMatchesError: true,
      CollectionTooLargeError: true,
      DestinationNotAllowedError: true,
      ShardStateError: true,
      StagingFullError: false,
      S5cmdBatchError: false,
      StalledError: false,
    };
    for (const [name, nonRetryable] of Object.entries(expected)) {
      const E = (errors as unknown as Record<string, new (m: string) => ApplicationFailure>)[name];
      const e = new E('what to fix');
      assert.ok(e instanceof ApplicationFailure && e instanceof errors.CollectorError && e instanceof E, name);
      assert.equal(e.type, name);
      assert.equal(e.name, name);
      assert.equal(e.nonRetryable, nonRetryable, name);
      // What Temporal records when an activity throws it.
      const failure = defaultFailureConverter.errorToFailure(e, defaultPayloadConverter);
      assert.equal(failure.applicationFailureInfo?.type, name);
      assert.equal(Boolean(failure.applicationFailureInfo?.nonRetryable), nonRetryable);
      assert.equal(failure.message, 'what to fix');
    }
    assert.ok(
      !(new errors.StalledError('x') instanceof errors.FileTooLargeError),
      'instanceof tells the classes apart',
    );
  });

  it('request errors map to the type the collection fails with', () => {
    assert.deepEqual(errors.REQUEST_ERRORS, {
      SeriesNotInArchiveError: 'SeriesNotInArchive',
      NothingMatchesError: 'NothingMatches',
      CollectionTooLargeError: 'CollectionTooLarge',
      DestinationNotAllowedError: 'DestinationNotAllowed',
    });
  });
});
