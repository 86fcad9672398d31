/** S3 clients for source and destination, with a per-activity count of the requests they send. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { S3Endpoint } from '../worker/config';
import { inSpan } from './tracing';

interface RequestCounter {
  requests: number;
}
const counters = new AsyncLocalStorage<RequestCounter>();

/** Runs fn and returns what it returned with the number of S3 requests it made. */
export async function countingRequests<T>(fn: () => Promise<T>): Promise<{ value: T; requests: number }> {
  const counter = { requests: 0 };
  const value = await counters.run(counter, fn);
  return { value, requests: counter.requests };
}

export function addRequests(n: number): void {
  const c = counters.getStore();
  if (c) c.requests += n;
}

/**
 * requestTimeoutMs is the socket's idle timeout: a request (or a body being read) that receives
 * nothing for that long fails and is retried, instead of holding its batch until start-to-close.
 */
export function createS3Client(e: S3Endpoint, maxSockets = 64, requestTimeoutMs = 60_000): S3Client {
  const client = new S3Client({
    region: e.region,
    endpoint: e.endpoint,
    forcePathStyle: Boolean(e.endpoint),
    // Anonymous: static empty credentials keep the SDK from searching for any, and the signing step is removed below.
    credentials: e.anonymous ? { accessKeyId: '', secretAccessKey: '' } : e.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: Math.min(requestTimeoutMs, 10_000),
      requestTimeout: requestTimeoutMs,
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
    }),
  });
  if (e.anonymous) client.middlewareStack.remove('httpSigningMiddleware');
  // A PUT of bytes in hand (proofs, sidecars, state) carries their Content-MD5 unless it carries a checksum: AWS (and
  // moto) refuse uploads into a bucket with Object Lock retention without one, and a store that checks it refuses
  // bytes damaged on the way. Streams (zips) are given theirs by the caller.
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { method?: string; body?: unknown; headers?: Record<string, string> };
      if (
        req.headers &&
        req.method === 'PUT' &&
        (typeof req.body === 'string' || req.body instanceof Uint8Array) &&
        !Object.keys(req.headers).some((h) => /^(content-md5|x-amz-checksum-)/i.test(h))
      )
        req.headers['content-md5'] = createHash('md5')
          .update(req.body as string | Uint8Array)
          .digest('base64');
      return next(args);
    },
    { step: 'build', name: 'contentMd5OfBytesInHand' },
  );
  client.middlewareStack.add(
    (next) => async (args) => {
      addRequests(1);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'countS3Requests' },
  );
  client.middlewareStack.add(
    (next, context) => (args) => {
      const input = args.input as { Bucket?: string; Key?: string; Prefix?: string };
      const attributes = {
        'rpc.system': 'aws-api',
        'rpc.service': 'S3',
        'rpc.method': context.commandName?.replace(/Command$/, ''),
        'aws.s3.bucket': input.Bucket,
        'aws.s3.key': input.Key ?? input.Prefix,
      };
      return inSpan(`S3.${context.commandName?.replace(/Command$/, '')}`, attributes, () => next(args));
    },
    { step: 'initialize', name: 'traceS3Requests' },
  );
  return client;
}

/** Identity of an endpoint for "do both sides share one endpoint" questions. */
export function endpointIdentity(e: S3Endpoint): string {
  if (!e.endpoint) return 'aws';
  const u = new URL(e.endpoint);
  return `${u.protocol}//${u.host.toLowerCase()}`;
}
