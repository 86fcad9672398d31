export { collectArchive, progressQuery } from './collect';
export { reviewQuarantine } from './review';
