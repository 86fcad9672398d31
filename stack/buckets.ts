/** Buckets of the local stack: a public-read mirror of the archive, and the bronze destination. */
import { CreateBucketCommand, HeadBucketCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { minioEndpoint, type StackConfig } from './local-stack';

export function adminClient(s: StackConfig): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: minioEndpoint(s),
    forcePathStyle: true,
    credentials: { accessKeyId: s.minioUser, secretAccessKey: s.minioPassword },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function ensureBucket(s3: S3Client, bucket: string, publicRead = false): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  if (publicRead) {
    // Like data.binance.vision: anyone may list and read.
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: ['*'] },
          Action: ['s3:GetBucketLocation', 's3:ListBucket'],
          Resource: [`arn:aws:s3:::${bucket}`],
        },
        {
          Effect: 'Allow',
          Principal: { AWS: ['*'] },
          Action: ['s3:GetObject'],
          Resource: [`arn:aws:s3:::${bucket}/*`],
        },
      ],
    };
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
  }
}

export async function ensureStackBuckets(s: StackConfig): Promise<void> {
  const s3 = adminClient(s);
  await ensureBucket(s3, s.sourceBucket, true);
  await ensureBucket(s3, s.destBucket);
}
