/** Reads source objects over S3 or, when SOURCE_HTTP_URL is set, plain HTTP(S) like Binance's own download scripts. */
import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { addRequests } from './s3';
import { classifyS3Error, isNotFound } from './errors';

export class NotFoundError extends Error {
  name = 'NotFoundError';
}

export class SourceReader {
  constructor(private readonly s3: S3Client, private readonly bucket: string, private readonly httpUrl?: string) {}

  /** The object's body as a stream, or NotFoundError. */
  async open(key: string): Promise<Readable> {
    if (this.httpUrl) {
      addRequests(1);
      const url = `${this.httpUrl.replace(/\/$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
      const res = await fetch(url);
      if (res.status === 404 || res.status === 403) {
        // Public buckets answer 403 for a missing key when anonymous listing is off.
        await res.body?.cancel();
        throw new NotFoundError(`${url}: HTTP ${res.status}`);
      }
      if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
      return Readable.fromWeb(res.body as never);
    }
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`s3://${this.bucket}/${key} does not exist`);
      throw classifyS3Error(err, `reading s3://${this.bucket}/${key}`);
    }
  }

  async readBytes(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await this.open(key)) chunks.push(Buffer.from(c));
    return Buffer.concat(chunks);
  }
}

/** `<sha256hex>  <file name>` → the hex digest, or undefined when the text is not in that format. */
export function parseChecksumFile(text: string): string | undefined {
  const m = /^\s*([0-9a-fA-F]{64})\b/.exec(text);
  return m ? m[1].toLowerCase() : undefined;
}
