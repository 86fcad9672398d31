/** Mode selection: a pure function of what was asked and what the probe found. */
import type { RequestedMode } from './request';
import type { EnvironmentProbe, ModeDecision } from './types';

export type ModeSelection = { ok: true; decision: ModeDecision } | { ok: false; problem: string };

export function selectMode(requested: RequestedMode, probe: EnvironmentProbe): ModeSelection {
  if (!probe.destination.writable) {
    return {
      ok: false,
      problem: `destination bucket "${probe.destination.bucket}" is not writable: ${probe.destination.detail}`,
    };
  }
  const blockers: string[] = [];
  if (!probe.s5cmd.available) blockers.push(`s5cmd unavailable (${probe.s5cmd.detail})`);
  if (!probe.sharedEndpoint.shared) blockers.push(`no server-side copy (${probe.sharedEndpoint.detail})`);
  else if (!probe.serverSideCopy.works) blockers.push(`no server-side copy (${probe.serverSideCopy.detail})`);

  // The traditional path (as a mode, or the fallback of direct sync) moves bytes with s5cmd where it can.
  const transfersBy = probe.s5cmd.available && !probe.sourceOverHttp ? 's5cmd' : 'sdk';
  if (requested === 'traditional') {
    return { ok: true, decision: { mode: 'traditional', transfersBy, reason: 'traditional mode was requested' } };
  }
  if (blockers.length === 0) {
    const proofBy = probe.s5cmd.checksums && probe.storeChecksum.supported ? 'store' : 'stream';
    const proof =
      proofBy === 'store'
        ? "copies proven by the store's SHA-256"
        : `copies proven by reading them back (${probe.storeChecksum.detail})`;
    const why = `${probe.s5cmd.detail}; ${probe.serverSideCopy.detail}; destination writable; ${proof}`;
    return {
      ok: true,
      decision: {
        mode: 'direct_sync',
        proofBy,
        transfersBy,
        reason: requested === 'auto' ? `auto: direct sync possible (${why})` : `direct sync was requested (${why})`,
      },
    };
  }
  if (requested === 'direct_sync') {
    return {
      ok: false,
      problem: `mode "direct_sync" cannot work here: ${blockers.join('; ')}. Use mode "auto" or "traditional".`,
    };
  }
  return {
    ok: true,
    decision: { mode: 'traditional', transfersBy, reason: `auto: traditional because ${blockers.join('; ')}` },
  };
}
