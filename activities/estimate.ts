/** What a collection would cost (action "plan"): requests and bytes from the listing's counts, at the worker's prices. */
import type { ListResult, Mode, PlanEstimate } from '../workflows/types';

export type Prices = PlanEstimate['prices'];

// Requests per file of a collect run, by what the file needs (see activities/prove.ts and traditional.ts):
// a copy is the copy itself (CopyObject, or PutObject of downloaded bytes), the .CHECKSUM beside it and the
// proof record (PUT class); reading the source .CHECKSUM and the destination's checksum or bytes (GET class).
const PER_FILE = {
  copy: { put: 3, get: 2 },
  replace: { put: 4, get: 2 }, // copied aside first, promoted once proven
  verify_only: { put: 2, get: 2 },
} as const;

export function estimatePlan(
  list: Omit<ListResult, 's3Requests'> & { s3Requests: number },
  mode: Mode,
  prices: Prices,
): PlanEstimate {
  const toProveInPlace = list.verifyOnly;
  const toReplace = list.replacements;
  const toCopy = Math.max(0, list.planned - toProveInPlace - toReplace);
  // Bytes to copy: everything planned except what is proven in place (its bytes are already there).
  const averageSize = list.planned ? list.plannedBytes / list.planned : 0;
  const toCopyBytes = Math.round(averageSize * (toCopy + toReplace));
  const put = toCopy * PER_FILE.copy.put + toReplace * PER_FILE.replace.put + toProveInPlace * PER_FILE.verify_only.put;
  const get = toCopy * PER_FILE.copy.get + toReplace * PER_FILE.replace.get + toProveInPlace * PER_FILE.verify_only.get;
  const gb = toCopyBytes / 1024 ** 3;
  // Direct sync copies server-side: no byte leaves the store. Traditional brings each byte to the worker and back.
  const transferGb = mode === 'traditional' ? gb : 0;
  const requests = (put / 1000) * prices.putCopyListPer1000 + (get / 1000) * prices.getHeadPer1000;
  const transfer = transferGb * prices.transferPerGb;
  const storagePerMonth = gb * prices.storagePerGbMonth;
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  // Inspection reads each file the collection would hold once (files already read are not read again: the report's
  // coverage.content.known says how many): a GET of the zip and a PUT of its facts record, and its bytes.
  const inspectFiles = list.planned + list.alreadyPresent;
  const inspectGb = (list.plannedBytes + list.alreadyPresentBytes) / 1024 ** 3;
  const inspectRequests =
    (inspectFiles / 1000) * prices.putCopyListPer1000 + (inspectFiles / 1000) * prices.getHeadPer1000;
  return {
    files: list.planned + list.alreadyPresent + list.missingChecksum,
    bytes: list.plannedBytes + list.alreadyPresentBytes,
    alreadyPresent: list.alreadyPresent,
    alreadyPresentBytes: list.alreadyPresentBytes,
    toCopy,
    toCopyBytes,
    toReplace,
    toProveInPlace,
    notPublished: list.notPublished,
    missingChecksum: list.missingChecksum,
    requests: { listing: list.s3Requests, collectPutCopyList: put, collectGetHead: get },
    costUsd: {
      requests: round(requests),
      transfer: round(transfer),
      storagePerMonth: round(storagePerMonth),
      total: round(requests + transfer),
    },
    inspection: {
      files: inspectFiles,
      bytes: list.plannedBytes + list.alreadyPresentBytes,
      requests: { get: inspectFiles, put: inspectFiles },
      costUsd: {
        requests: round(inspectRequests),
        transferOutsideRegion: round(inspectGb * prices.transferPerGb),
      },
      assumptions:
        'at most: every file the collection would hold, read once (files whose bytes were read before are not); a worker in the destination region reads without transfer charges, one elsewhere pays transferOutsideRegion',
    },
    prices,
    assumptions:
      `${mode === 'traditional' ? 'traditional mode: every copied byte passes through the worker and is priced as transfer' : 'direct sync: server-side copies, no transfer charged'}; ` +
      'requests per file: copy 3 PUT + 2 GET, replacement 4 PUT + 2 GET, proof in place 2 PUT + 2 GET; retries and fallbacks not included; ' +
      "storage is the added bytes per month at COST_STORAGE_PER_GB_MONTH (not in total); prices from the worker's COST_* settings",
  };
}
