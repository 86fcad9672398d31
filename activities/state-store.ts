/**
 * The collection's state, kept as objects in the destination bucket (references, not payloads): the one
 * place that names them. A collection's folder holds its manifest and coverage; each shard's folder
 * (`shards/shard-NNNNNN/`) its series, plan batches, per-step results, settled parts, manifest and coverage.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { REPORT_OBJECT, shardFolder } from '../workflows/keys';
import type { SeriesSpec, StateRef } from '../workflows/types';
import { isNotFound, isPreconditionFailed } from './errors';
import { batchName, type PlanFile } from './plan';

/** The steps that record results for a batch. */
export type ResultStep = 'direct' | 'prove' | 'traditional';

export const STATE_OBJECTS = {
  series: 'series.json',
  plan: (batch: number) => `plan/${batchName(batch)}.json`,
  results: (batch: number, step: ResultStep) => `results/${batchName(batch)}.${step}.json`,
  /** Plan entries settled while listing (already present, not published, …), in parts. */
  settledPart: (part: number) => `plan/settled-${String(part).padStart(6, '0')}.ndjson`,
  manifest: 'manifest.ndjson',
  coverageRows: 'coverage.ndjson',
  /** What inspection found: one line per verified file whose content is known, then the shard's summary and breaks. */
  content: 'content.ndjson',
  coverageJson: 'coverage.json',
  coverageCsv: 'coverage.csv',
  coverageSchema: 'coverage.schema.json',
  report: REPORT_OBJECT,
} as const;

export class StateStore {
  constructor(
    private readonly s3: S3Client,
    private readonly state: StateRef,
  ) {}

  key(name: string): string {
    return `${this.state.statePrefix}${name}`;
  }

  /** The store of shard i, inside this collection's folder. */
  shard(i: number): StateStore {
    return new StateStore(this.s3, { ...this.state, statePrefix: `${this.state.statePrefix}${shardFolder(i)}` });
  }

  series(): Promise<SeriesSpec[] | undefined> {
    return this.getJson<SeriesSpec[]>(STATE_OBJECTS.series);
  }
  putSeries(series: SeriesSpec[]): Promise<string> {
    return this.putJson(STATE_OBJECTS.series, series);
  }

  planBatch(batch: number): Promise<PlanFile[] | undefined> {
    return this.getJson<PlanFile[]>(STATE_OBJECTS.plan(batch));
  }
  putPlanBatch(batch: number, files: PlanFile[]): Promise<string> {
    return this.putJson(STATE_OBJECTS.plan(batch), files);
  }

  results<T>(batch: number, step: ResultStep): Promise<T[] | undefined> {
    return this.getJson<T[]>(STATE_OBJECTS.results(batch, step));
  }
  putResults(batch: number, step: ResultStep, entries: unknown[]): Promise<string> {
    return this.putJson(STATE_OBJECTS.results(batch, step), entries);
  }

  async putText(name: string, body: string, contentType = 'application/json'): Promise<string> {
    const Key = this.key(name);
    await this.s3.send(new PutObjectCommand({ Bucket: this.state.bucket, Key, Body: body, ContentType: contentType }));
    return Key;
  }

  /**
   * Writes the object unless its key is taken, the store itself refusing the PUT then (`If-None-Match: *`); false when
   * it was taken. Only for a store this worker saw refuse such a PUT: one that ignores the header overwrites.
   */
  async putTextIfAbsent(name: string, body: string, contentType = 'application/json'): Promise<boolean> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.state.bucket,
          Key: this.key(name),
          Body: body,
          ContentType: contentType,
          IfNoneMatch: '*',
        }),
      );
      return true;
    } catch (err) {
      if (isPreconditionFailed(err)) return false;
      throw err;
    }
  }

  /** Whether the object is there (one HEAD). */
  async exists(name: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.state.bucket, Key: this.key(name) }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async putJson(name: string, value: unknown): Promise<string> {
    return this.putText(name, JSON.stringify(value));
  }

  /** Writes an object from text produced as it goes, in parts with back-pressure: never held whole. */
  async putStream(
    name: string,
    contentType: string,
    write: (out: (text: string) => Promise<void>) => Promise<void>,
  ): Promise<string> {
    const Key = this.key(name);
    const body = new PassThrough();
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: this.state.bucket, Key, Body: body, ContentType: contentType },
      queueSize: 2,
      partSize: 8 * 1024 ** 2,
    });
    const done = upload.done();
    // A failed upload stops the writer too (a writer waiting for 'drain' on a destroyed stream would wait forever).
    const failed = new Promise<never>((_, reject) => done.catch(reject));
    failed.catch(() => undefined);
    const out = (text: string) =>
      body.write(text) ? Promise.resolve() : Promise.race([once(body, 'drain').then(() => undefined), failed]);
    try {
      await write(out);
      body.end();
    } catch (err) {
      body.destroy(err as Error);
      await done.catch(() => undefined);
      throw err;
    }
    await done;
    return Key;
  }

  /** An object's lines, read as a stream; none when it does not exist (a shard that failed before its manifest). */
  async *lines(name: string): AsyncGenerator<string> {
    let body: AsyncIterable<Buffer>;
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.state.bucket, Key: this.key(name) }));
      body = res.Body as AsyncIterable<Buffer>;
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    // One decoder across chunks: a character split between two chunks is joined, not replaced by U+FFFD.
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for await (const chunk of body) {
      const text = rest + decoder.write(chunk);
      const lines = text.split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (line) yield line;
    }
    rest += decoder.end();
    if (rest) yield rest;
  }

  async getText(name: string): Promise<string | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.state.bucket, Key: this.key(name) }));
      return await res.Body!.transformToString();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async getJson<T>(name: string): Promise<T | undefined> {
    const text = await this.getText(name);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }
}
