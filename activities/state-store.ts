/** The collection's plan and results, kept as objects in the destination bucket (references, not payloads). */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { StateRef } from '../workflows/types';
import { isNotFound } from './errors';

export class StateStore {
  constructor(
    private readonly s3: S3Client,
    private readonly state: StateRef,
  ) {}

  key(name: string): string {
    return `${this.state.statePrefix}${name}`;
  }

  async putText(name: string, body: string, contentType = 'application/json'): Promise<string> {
    const Key = this.key(name);
    await this.s3.send(new PutObjectCommand({ Bucket: this.state.bucket, Key, Body: body, ContentType: contentType }));
    return Key;
  }

  async putJson(name: string, value: unknown): Promise<string> {
    return this.putText(name, JSON.stringify(value));
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
