/** What the world allows: is s5cmd runnable, can it copy server-side, is the destination writable. */
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import type { WorkerConfig } from '../worker/config';
import type { EnvironmentProbe } from '../workflows/types';
import { isAccessDenied } from './errors';
import { endpointIdentity } from './s3';

export interface ProbeInput {
  bucket?: string;
  prefix?: string;
}

export interface ProbeResult {
  probe: EnvironmentProbe;
  destination: { bucket: string; prefix: string };
  /** The worker's Temporal namespace has this project's search attributes registered. */
  searchAttributes: boolean;
}

export async function probeS5cmd(s5cmdPath: string): Promise<EnvironmentProbe['s5cmd']> {
  try {
    const { stdout } = await execa(s5cmdPath, ['version'], { timeout: 15_000 });
    return { available: true, detail: `s5cmd ${stdout.trim()} runs (${s5cmdPath})` };
  } catch (err) {
    return { available: false, detail: `cannot run "${s5cmdPath}": ${(err as Error).message.split('\n')[0]}` };
  }
}

export function probeSharedEndpoint(config: WorkerConfig): EnvironmentProbe['sharedEndpoint'] {
  const src = config.source;
  const dst = config.destination;
  if (src.httpUrl) return { shared: false, detail: `the source is read over plain HTTP (${src.httpUrl})` };
  const a = endpointIdentity(src);
  const b = endpointIdentity(dst);
  if (a !== b) return { shared: false, detail: `source endpoint ${a} differs from destination endpoint ${b}` };
  const sameCreds = src.anonymous || (src.credentials?.accessKeyId === dst.credentials?.accessKeyId && src.credentials?.secretAccessKey === dst.credentials?.secretAccessKey);
  if (!sameCreds) return { shared: false, detail: 'source and destination need different credentials; s5cmd uses one set' };
  return { shared: true, detail: `source and destination share endpoint ${a}${src.anonymous ? ' (public source)' : ''}` };
}

export async function probeDestination(s3: S3Client, bucket: string, prefix: string): Promise<EnvironmentProbe['destination']> {
  const Key = `${prefix}_collections/.write-probe-${randomUUID()}`;
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'probe' }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
    return { bucket, writable: true, detail: 'write and delete succeeded' };
  } catch (err) {
    const e = err as Error & { name?: string };
    if (isAccessDenied(err)) return { bucket, writable: false, detail: `access denied (${e.name}): check DEST_ACCESS_KEY_ID/DEST_SECRET_ACCESS_KEY and the bucket policy` };
    if (e.name === 'NoSuchBucket') return { bucket, writable: false, detail: `bucket "${bucket}" does not exist: create it or set destination.bucket` };
    throw err; // unreachable endpoint and the like: retryable
  }
}
