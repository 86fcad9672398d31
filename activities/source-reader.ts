/** Reads source objects over S3 or, when SOURCE_HTTP_URL is set, plain HTTP(S) like Binance's own download scripts. */
import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { addRequests } from './s3';
import { classifyS3Error, isNotFound } from './errors';

export class NotFoundError extends Error {
  name = 'NotFoundError';
}

export interface SourceObject {
  body: Readable;
  /** The ETag of the version being read (the proof records which source version it checked). */
  etag: string;
  size: number | undefined;
}

export class SourceReader {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly httpUrl?: string,
    /** A read that receives nothing for this long is abandoned (and retried by the caller's policy). */
    private readonly idleTimeoutMs = 60_000,
  ) {}

  /** The object's body as a stream, or NotFoundError. */
  async open(key: string, signal?: AbortSignal): Promise<SourceObject> {
    if (this.httpUrl) {
      addRequests(1);
      const url = `${this.httpUrl.replace(/\/$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
      const idle = new AbortController();
      const res = await fetch(url, { signal: signal ? AbortSignal.any([signal, idle.signal]) : idle.signal });
      if (res.status === 404 || res.status === 403) {
        // Public buckets answer 403 for a missing key when anonymous listing is off.
        await res.body?.cancel();
        throw new NotFoundError(`${url}: HTTP ${res.status}`);
      }
      if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
      const body = Readable.fromWeb(res.body as never);
      // fetch has no idle timeout of its own: abort when no byte arrives for idleTimeoutMs.
      let timer = setTimeout(
        () => idle.abort(new Error(`${url}: no data for ${this.idleTimeoutMs} ms`)),
        this.idleTimeoutMs,
      );
      body.on('data', () => {
        clearTimeout(timer);
        timer = setTimeout(
          () => idle.abort(new Error(`${url}: no data for ${this.idleTimeoutMs} ms`)),
          this.idleTimeoutMs,
        );
      });
      body.on('close', () => clearTimeout(timer));
      const length = res.headers.get('content-length');
      return { body, etag: res.headers.get('etag') ?? '', size: length ? Number(length) : undefined };
    }
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
      return { body: res.Body as Readable, etag: res.ETag ?? '', size: res.ContentLength };
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`s3://${this.bucket}/${key} does not exist`);
      throw classifyS3Error(err, `reading s3://${this.bucket}/${key}`);
    }
  }

  async read(key: string, signal?: AbortSignal): Promise<{ bytes: Buffer; etag: string }> {
    const { body, etag } = await this.open(key, signal);
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(Buffer.from(c));
    return { bytes: Buffer.concat(chunks), etag };
  }

  /** The object, or undefined when it does not exist. */
  async readIfExists(key: string, signal?: AbortSignal): Promise<{ bytes: Buffer; etag: string } | undefined> {
    try {
      return await this.read(key, signal);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }
}
