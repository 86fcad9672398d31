/** The search attributes collections set (typed keys), and the ones Temporal sets on scheduled runs. */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';

export const ARCHIVE_MARKETS = defineSearchAttributeKey('ArchiveMarkets', SearchAttributeType.KEYWORD_LIST);
export const ARCHIVE_DATA_TYPES = defineSearchAttributeKey('ArchiveDataTypes', SearchAttributeType.KEYWORD_LIST);
export const ARCHIVE_SYMBOLS = defineSearchAttributeKey('ArchiveSymbols', SearchAttributeType.KEYWORD_LIST);
export const ARCHIVE_MODE = defineSearchAttributeKey('ArchiveMode', SearchAttributeType.KEYWORD);
export const ARCHIVE_OUTCOME = defineSearchAttributeKey('ArchiveOutcome', SearchAttributeType.KEYWORD);

/** What a namespace must have registered for TEMPORAL_SEARCH_ATTRIBUTES=true. */
export const ARCHIVE_SEARCH_ATTRIBUTES = [
  ARCHIVE_MARKETS,
  ARCHIVE_DATA_TYPES,
  ARCHIVE_SYMBOLS,
  ARCHIVE_MODE,
  ARCHIVE_OUTCOME,
];

export const SCHEDULED_BY = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);
export const SCHEDULED_START_TIME = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);
