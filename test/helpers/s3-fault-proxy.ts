/**
 * A small S3-aware proxy in front of the test stack's store that answers the way AWS S3 does where no local
 * store does: a bucket in another region (301 PermanentRedirect with `x-amz-bucket-region`), SlowDown and
 * InternalError bursts, a copy result with or without its checksum, ETag-less or weak-ETag answers, a copy with
 * `If-None-Match: *` refused (412) when its key is taken (AWS honours it; versitygw, MinIO and moto ignore it). It records
 * every request's shape (bucket, key, signing region or unsigned) for the tests.
 *
 * The source bucket stands for the real archive: public, in its own region. Requests to it signed for that
 * region (or unsigned) go on unsigned, the way the public archive serves anyone; signed for another region
 * they get the 301 AWS answers. Requests to other buckets go on untouched (the store checks their signatures).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';

export type RequestKind = 'copy' | 'list' | 'proof-write' | 'put' | 'get' | 'head' | 'delete' | 'other';

export interface SeenRequest {
  method: string;
  bucket: string;
  key: string;
  kind: RequestKind;
  /** The region in the SigV4 credential scope; null when the request is unsigned. */
  region: string | null;
  status: number;
  /** What the proxy did instead of passing the request on, if anything. */
  injected?: string;
  /** A copy that carried `If-None-Match: *`. */
  ifNoneMatch?: boolean;
}

export interface Fault {
  kind: RequestKind;
  status: 500 | 503;
  /** How many matching requests in a row get the fault (then it is spent). */
  times: number;
  /** Only requests whose `<bucket>/<key>?<query>` matches (e.g. the collection's copies, not the probe's). */
  match?: RegExp;
}

export interface ProxyOptions {
  upstream: string;
  /** The bucket that stands for the public archive (none: every request goes on untouched but for the options below). */
  sourceBucket?: string;
  sourceRegion: string;
  faults?: Fault[];
  /** Remove the SHA-256 from CopyObject results (the store computed it; the answer does not say). */
  stripCopyChecksum?: boolean;
  /** Answer object writes and reads of this bucket without an ETag, or with a weak one. */
  etags?: { bucket: string; form: 'missing' | 'weak' };
  /**
   * Refuse a copy carrying `If-None-Match: *` onto a taken key with AWS's 412, as AWS does (the proxy looks the key up
   * itself with these credentials, at `endpoint` (the upstream unless given: a store behind a latency proxy is looked
   * up directly, the way AWS checks inside the store); its lookups are not in `seen`, only counted). Not atomic,
   * unlike AWS: for tests and the benchmark, where no one else writes.
   */
  copyIfAbsent?: { accessKeyId: string; secretAccessKey: string; endpoint?: string };
}

export interface FaultProxy {
  url: string;
  seen: SeenRequest[];
  /** How many keys the proxy looked up itself for `copyIfAbsent` (requests the store served that no client sent). */
  lookups(): number;
  /** Faults still to inject. */
  pending(): Fault[];
  close(): Promise<void>;
}

const ERRORS: Record<number, [string, string]> = {
  500: ['InternalError', 'We encountered an internal error. Please try again.'],
  503: ['SlowDown', 'Please reduce your request rate.'],
};

function errorXml(code: string, message: string, extra = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>fault-proxy</RequestId></Error>`;
}

function kindOf(method: string, key: string, query: URLSearchParams, headers: http.IncomingHttpHeaders): RequestKind {
  if (method === 'PUT' && headers['x-amz-copy-source']) return 'copy';
  if (method === 'GET' && !key && !query.has('location') && !query.has('versioning')) return 'list';
  if (method === 'PUT' && /(^|\/)_verified\//.test(key)) return 'proof-write';
  return ({ PUT: 'put', GET: 'get', HEAD: 'head', DELETE: 'delete' } as Record<string, RequestKind>)[method] ?? 'other';
}

const regionOf = (auth: string | undefined) => auth?.match(/Credential=[^/]+\/\d{8}\/([^/]+)\/s3\//)?.[1] ?? null;
const UNSIGNED_HEADERS = ['authorization', 'x-amz-date', 'x-amz-security-token'];

export async function startFaultProxy(opts: ProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(opts.upstream);
  const faults = (opts.faults ?? []).map((f) => ({ ...f }));
  const seen: SeenRequest[] = [];
  let ownHost = '';
  let lookups = 0;
  const lookup =
    opts.copyIfAbsent &&
    new S3Client({
      endpoint: opts.copyIfAbsent.endpoint ?? opts.upstream,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: opts.copyIfAbsent.accessKeyId, secretAccessKey: opts.copyIfAbsent.secretAccessKey },
      // One attempt, so that every lookup the store serves is counted; as many at once as copies come in (the SDK's
      // default is 50 sockets).
      maxAttempts: 1,
      requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: 256 }) },
    });
  const taken = (bucket: string, key: string) => {
    lookups++;
    return lookup!.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      (e: { $metadata?: { httpStatusCode?: number } }) => {
        if (e.$metadata?.httpStatusCode === 404) return false;
        throw e;
      },
    );
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const [bucket = '', ...rest] = url.pathname.slice(1).split('/');
    const key = decodeURIComponent(rest.join('/'));
    const kind = kindOf(req.method ?? 'GET', key, url.searchParams, req.headers);
    const region = regionOf(req.headers.authorization);
    const record: SeenRequest = {
      method: req.method ?? '',
      bucket: decodeURIComponent(bucket),
      key,
      kind,
      region,
      status: 0,
    };
    seen.push(record);

    const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
      req.resume();
      req.on('end', () => {
        record.status = status;
        const payload = req.method === 'HEAD' ? '' : body;
        res.writeHead(status, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(payload),
          ...headers,
        });
        res.end(payload);
      });
    };

    const toSource = opts.sourceBucket !== undefined && record.bucket === opts.sourceBucket;
    if (toSource && region !== null && region !== opts.sourceRegion) {
      record.injected = 'PermanentRedirect';
      return answer(
        301,
        errorXml(
          'PermanentRedirect',
          'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.',
          `<Bucket>${opts.sourceBucket}</Bucket><Endpoint>s3.${opts.sourceRegion}.amazonaws.com</Endpoint>`,
        ),
        { 'x-amz-bucket-region': opts.sourceRegion },
      );
    }
    const target = `${record.bucket}/${key}${url.search}`;
    const fault = faults.find((f) => f.kind === kind && f.times > 0 && (!f.match || f.match.test(target)));
    if (fault) {
      fault.times--;
      const [code, message] = ERRORS[fault.status];
      record.injected = code;
      return answer(fault.status, errorXml(code, message));
    }

    const badGateway = (err: Error) => {
      record.status = 502;
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    };
    if (kind === 'copy' && req.headers['if-none-match'] === '*') record.ifNoneMatch = true;
    if (!(record.ifNoneMatch && lookup)) return pass();
    req.pause();
    taken(record.bucket, key).then((isTaken) => {
      if (!isTaken) return pass();
      record.injected = 'PreconditionFailed';
      answer(
        412,
        errorXml(
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          '<Condition>If-None-Match</Condition>',
        ),
      );
    }, badGateway);

    function pass() {
      const headers = { ...req.headers };
      if (toSource) for (const h of UNSIGNED_HEADERS) delete headers[h];
      const forward = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (up) => {
          record.status = up.statusCode ?? 0;
          const out = { ...up.headers };
          const editEtag = opts.etags && record.bucket === opts.etags.bucket && /^(put|get|head|copy)$/.test(kind);
          if (editEtag && out.etag) {
            if (opts.etags!.form === 'missing') delete out.etag;
            else out.etag = `W/${out.etag}`;
          }
          const rewriteBody = kind === 'copy' && (opts.stripCopyChecksum || editEtag);
          if (!rewriteBody) {
            res.writeHead(up.statusCode ?? 502, out);
            up.pipe(res);
            return;
          }
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => {
            let body = Buffer.concat(chunks).toString('utf8');
            if (opts.stripCopyChecksum) body = body.replace(/<ChecksumSHA256>[^<]*<\/ChecksumSHA256>/g, '');
            if (editEtag)
              body = body.replace(/<ETag>([^<]*)<\/ETag>/g, (_m, e: string) =>
                opts.etags!.form === 'missing' ? '' : `<ETag>W/${e}</ETag>`,
              );
            out['content-length'] = String(Buffer.byteLength(body));
            delete out['transfer-encoding'];
            res.writeHead(up.statusCode ?? 502, out);
            res.end(body);
          });
        },
      );
      forward.on('error', badGateway);
      req.pipe(forward);
    }
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  ownHost = `127.0.0.1:${port}`;
  return {
    url: `http://${ownHost}`,
    seen,
    lookups: () => lookups,
    pending: () => faults.filter((f) => f.times > 0),
    close: () =>
      new Promise<void>((resolve) => {
        lookup?.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
