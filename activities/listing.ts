/** Paginated S3 listings (the SDK's own paginator): a key range, and the folders under a prefix. */
import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectId } from './proof';

export interface ListedObject extends ObjectId {
  key: string;
}

/** The keys under prefix after startAfter, up to and including stopAfter (keys sort, so the listing stops there). */
export async function listRange(
  s3: S3Client,
  bucket: string,
  prefix: string,
  startAfter: string,
  stopAfter: string,
): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  for await (const page of paginateListObjectsV2(
    { client: s3, pageSize: 1000 },
    { Bucket: bucket, Prefix: prefix, StartAfter: startAfter },
  )) {
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      if (o.Key > stopAfter) return out;
      out.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '' });
    }
  }
  return out;
}

/** The folder names directly under prefix (`BTCUSDT`, `ETHUSDT`, …), every page: one delimited listing. */
export async function listFolders(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const page of paginateListObjectsV2(
    { client: s3, pageSize: 1000 },
    { Bucket: bucket, Prefix: prefix, Delimiter: '/' },
  )) {
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix.slice(prefix.length, -1));
  }
  return out;
}

/** Whether anything at all is stored under prefix (one request). */
export async function hasAny(s3: S3Client, bucket: string, prefix: string): Promise<boolean> {
  for await (const page of paginateListObjectsV2(
    { client: s3, pageSize: 1 },
    { Bucket: bucket, Prefix: prefix, MaxKeys: 1 },
  )) {
    return (page.KeyCount ?? page.Contents?.length ?? 0) > 0;
  }
  return false;
}
