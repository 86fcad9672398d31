/**
 * Where this worker may write: the allow-list (DEST_ALLOWED, or the worker's own DEST_BUCKET/DEST_PREFIX
 * when it is unset), never the source bucket. Checked where the writes happen: by every activity that
 * writes, copies, deletes or records proofs, on the bucket and prefix of its own input, whoever
 * scheduled it. Pure.
 */
import { isStateFolder } from '../workflows/schemas';
import type { StateRef } from '../workflows/types';
import { DestinationNotAllowedError } from './errors';

export interface AllowedDestination {
  /** A bucket name, a name ending in "*" (every bucket it begins), or "*" (every bucket but the source's). */
  bucket: string;
  /** Empty: the whole bucket; else ends with "/". */
  prefix: string;
}

export interface DestinationPolicy {
  allowed: AllowedDestination[];
  /** Set from DEST_ALLOWED (else it is the worker's DEST_BUCKET/DEST_PREFIX). */
  fromList: boolean;
  /** The source bucket, when it is on the destination's endpoint: never written. */
  sourceBucket?: string;
}

function bucketMatches(pattern: string, bucket: string): boolean {
  return pattern.endsWith('*') ? bucket.startsWith(pattern.slice(0, -1)) : pattern === bucket;
}

export function destinationAllowed(policy: DestinationPolicy, bucket: string, prefix: string): boolean {
  if (policy.sourceBucket !== undefined && bucket === policy.sourceBucket) return false;
  return policy.allowed.some((a) => bucketMatches(a.bucket, bucket) && prefix.startsWith(a.prefix));
}

function describePolicy(policy: DestinationPolicy): string {
  const list = policy.allowed.map((a) => `${a.bucket}/${a.prefix}`).join(', ');
  return policy.fromList ? `DEST_ALLOWED: ${list}` : `DEST_ALLOWED is unset, so only DEST_BUCKET/DEST_PREFIX: ${list}`;
}

export function requireAllowedDestination(policy: DestinationPolicy, bucket: string, prefix: string): void {
  if (destinationAllowed(policy, bucket, prefix)) return;
  if (policy.sourceBucket !== undefined && bucket === policy.sourceBucket)
    throw new DestinationNotAllowedError(
      `destination: s3://${bucket}/ is the source bucket; a collection never writes there: aim destination.bucket at your own bucket`,
    );
  throw new DestinationNotAllowedError(
    `destination: s3://${bucket}/${prefix} is not among the destinations this worker may write to (${describePolicy(policy)}); ` +
      'aim the request at one of them (destination.bucket, destination.prefix), or ask the operator to add it to DEST_ALLOWED',
  );
}

/** A collection's state: its bucket and data prefix allowed, its folder under that prefix's `_collections/<collectionId>/`. */
export function requireAllowedState(policy: DestinationPolicy, state: StateRef): void {
  requireAllowedDestination(policy, state.bucket, state.destinationPrefix);
  if (!isStateFolder(state))
    throw new DestinationNotAllowedError(
      `state.statePrefix: a collection keeps its state only under "${state.destinationPrefix}_collections/${state.collectionId}/"`,
    );
}
