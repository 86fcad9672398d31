/**
 * What each store of the matrix honours, as checked against it (the field notes and this suite): tests that
 * need a feature a store lacks are skipped there with the reason, never run against a weaker guarantee.
 */
import type { StoreName } from '../../stack/local-stack';
import { stack } from './stack';

interface StoreFeatures {
  /** `If-Match` on DELETE refused when it names another ETag. */
  conditionalDelete: boolean;
  /** `x-amz-copy-source-if-match` naming another ETag refuses the copy (moto ignores it). */
  conditionalCopy: boolean;
  /** A PUT whose `x-amz-checksum-sha256` does not match its body is refused (moto keeps it unchecked). */
  putChecksum: boolean;
  /** Requests signed with a wrong secret are refused (moto's server accepts any credentials unless set up for IAM). */
  signatures: boolean;
  /** Objects survive a restart of the server (moto's server keeps everything in memory). */
  persistent: boolean;
  /** Bucket lifecycle configuration (versitygw answers 501 NotImplemented). */
  lifecycle: boolean;
  /** `If-None-Match: *` on CopyObject refuses a copy onto an existing key (AWS does; none of the three here). */
  copyIfAbsent: boolean;
}

export const STORE_FEATURES: Record<StoreName, StoreFeatures> = {
  minio: {
    conditionalDelete: false,
    conditionalCopy: true,
    putChecksum: true,
    signatures: true,
    persistent: true,
    lifecycle: true,
    copyIfAbsent: false,
  },
  versitygw: {
    conditionalDelete: true,
    conditionalCopy: true,
    putChecksum: true,
    signatures: true,
    persistent: true,
    lifecycle: false,
    copyIfAbsent: false,
  },
  moto: {
    conditionalDelete: true,
    conditionalCopy: false,
    putChecksum: false,
    signatures: false,
    persistent: false,
    lifecycle: true,
    copyIfAbsent: false,
  },
};

/** A skip reason when the test stack's store lacks the feature, else false (node:test's `skip` option). */
export function unlessStoreHas(feature: keyof StoreFeatures): string | false {
  return STORE_FEATURES[stack.store][feature] ? false : `${stack.store} does not support ${feature}`;
}
