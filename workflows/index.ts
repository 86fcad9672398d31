export { collectArchive, progressQuery } from './collect';
