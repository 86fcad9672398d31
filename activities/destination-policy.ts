/** The worker's destination allow-list (DEST_ALLOWED): which bucket and prefix a request may write to. Pure. */
import { DestinationNotAllowedError } from './errors';

export interface AllowedDestination {
  bucket: string;
  /** Empty: the whole bucket; else ends with "/". */
  prefix: string;
}

/** True when the list is empty (no restriction) or an entry's bucket matches and its prefix starts the destination's prefix. */
export function destinationAllowed(allowed: AllowedDestination[], bucket: string, prefix: string): boolean {
  return allowed.length === 0 || allowed.some((a) => a.bucket === bucket && prefix.startsWith(a.prefix));
}

export function requireAllowedDestination(allowed: AllowedDestination[], bucket: string, prefix: string): void {
  if (destinationAllowed(allowed, bucket, prefix)) return;
  const list = allowed.map((a) => `${a.bucket}/${a.prefix}`).join(', ');
  throw new DestinationNotAllowedError(
    `destination: s3://${bucket}/${prefix} is not among the destinations this worker may write to (DEST_ALLOWED: ${list}); ` +
      'aim the request at one of them (destination.bucket, destination.prefix), or ask the operator to add it to DEST_ALLOWED',
  );
}
