export { collectArchive, progressQuery } from './collect';
export { reviewQuarantine } from './review';
export { collectShard } from './shard';
