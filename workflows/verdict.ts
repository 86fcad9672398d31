/** The one line a person reads first, and whether the collection is OK. Pure. */
import type { CollectionAction } from './request';
import type { CollectionReport, ContentSummary } from './types';

type Files = Pick<
  CollectionReport['files'],
  'total' | 'failed' | 'notPublished' | 'quarantined' | 'byOutcome' | 'byProof'
>;

export function verdictOf(f: Files, action: CollectionAction = 'collect'): { ok: boolean; verdict: string } {
  const published = f.total - f.notPublished;
  const pending = f.byOutcome.pending ?? 0;
  if (action === 'plan') {
    return {
      ok: true,
      verdict: `PLAN (nothing copied): of ${published} published files, ${f.byOutcome.skipped ?? 0} are in the destination with proof and ${pending} would be copied or proven; see the report's plan for bytes, requests and cost`,
    };
  }
  if (action === 'audit' || action === 'inspect') {
    const proven = (f.byOutcome.verified_in_place ?? 0) + (f.byOutcome.skipped ?? 0);
    const wrong = f.failed
      ? `; ${f.failed} do not match their .CHECKSUM or could not be read (left in place, see the manifest)`
      : '';
    return {
      ok: f.failed === 0,
      verdict: `${action.toUpperCase()} (nothing copied): ${proven} of ${published} published files are in the destination with proof${pending ? `; ${pending} are not there (a collect run copies them)` : ''}${wrong}`,
    };
  }
  if (f.failed > 0) {
    const how = Object.entries(f.byOutcome)
      .filter(([k]) => ['failed', 'checksum_mismatch', 'stale_checksum', 'missing_checksum', 'not_found'].includes(k))
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    const aside = f.quarantined
      ? `; ${f.quarantined} put aside in the quarantine for review ("client quarantine list")`
      : '';
    return {
      ok: false,
      verdict: `COMPLETED WITH FAILURES: ${f.failed} of ${published} published files are not in the destination with proof (${how})${aside}; see the manifest`,
    };
  }
  if (published === 0) {
    return {
      ok: false,
      verdict: `NOTHING PUBLISHED: none of the ${f.total} files of this collection is in the archive (yet)`,
    };
  }
  const sha = f.byProof.sha256 ?? 0;
  const accepted = f.byProof.accepted ?? 0;
  const weaker = (f.byProof.size ?? 0) + (f.byProof.none ?? 0);
  const notYet = f.notPublished ? `; ${f.notPublished} not published yet` : '';
  if (weaker === 0 && accepted === 0) {
    return {
      ok: true,
      verdict: `OK: all ${published} published files are in the destination, each with SHA-256 proof against its .CHECKSUM${notYet}`,
    };
  }
  const parts = [`${sha} with SHA-256 proof`];
  if (accepted) parts.push(`${accepted} accepted by an operator although they do not match their .CHECKSUM`);
  if (f.byProof.size) parts.push(`${f.byProof.size} checked by size only`);
  if (f.byProof.none) parts.push(`${f.byProof.none} not checked`);
  const advice = weaker ? ' (run with verification "checksum" to prove them)' : '';
  return {
    ok: true,
    verdict: `OK: all ${published} published files are in the destination: ${parts.join(', ')}${advice}${notYet}`,
  };
}

/**
 * What the content step adds to the verdict: a sentence when anything is known or was asked for, and whether an
 * inspect run is OK (no file cut short, the inspection finished). A collect's OK stays about copies and proofs.
 */
export function contentVerdict(
  content: ContentSummary | undefined,
  inspected: boolean,
  action: CollectionAction,
): { ok: boolean; sentence: string } {
  if (!content || (!inspected && content.known === 0 && !content.failure)) return { ok: true, sentence: '' };
  const parts = [
    `${content.whole} whole`,
    `${content.gaps} with interior gaps`,
    `${content.cutShort} cut short`,
    `${content.unknown} unknown`,
  ];
  const breaks = content.seriesBreaks ? `; ${content.seriesBreaks} breaks between consecutive files` : '';
  const read = inspected ? ` (${content.inspectedNow} read by this run)` : '';
  const notYet = content.notInspected
    ? `; ${content.notInspected} verified files not inspected yet (action "inspect" reads them)`
    : '';
  const failed = content.failure ? `; ${content.failure}` : '';
  return {
    ok: action !== 'inspect' || (content.cutShort === 0 && !content.failure),
    sentence: `. CONTENT of ${content.known} verified files${read}: ${parts.join(', ')}${breaks}${notYet}${failed}`,
  };
}
