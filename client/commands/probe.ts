/** `client probe`: what the destination store honours, and which mode and proof a collection would get, before it runs. */
import type { Command } from 'commander';
import { formatGuards } from '../format';
import { startAndFollow, startOptions, type CollectFlags } from '../cli';

export function registerProbe(program: Command): void {
  startOptions(
    program
      .command('probe')
      .description(
        "what your destination store honours (SHA-256 on copy, conditional copy/PUT/DELETE, PUT checksums) and the mode and proof a collection would get: a plan run's probe, nothing copied",
      ),
  ).action((flags: CollectFlags) =>
    startAndFollow(flags, 'plan', true, (r) =>
      [
        `mode         ${r.decision.mode}: ${r.decision.reason}`,
        `proof        ${r.decision.mode === 'direct_sync' ? (r.decision.proofBy === 'store' ? "the store's own SHA-256 of each copy (no byte read back)" : 'each copy read back and hashed') : 'hashed while downloading'}, against each .CHECKSUM`,
        `store        ${formatGuards(r.probe)}`,
        ...(r.probe.guards
          ? Object.values(r.probe.guards).map(
              (g) => `             ${g.honoured === null ? '?' : g.honoured ? '✓' : '✗'} ${g.detail}`,
            )
          : []),
        `destination  ${r.probe.destination.detail}`,
        `s5cmd        ${r.probe.s5cmd.detail}`,
        `endpoints    ${r.probe.sharedEndpoint.detail}`,
        `copy         ${r.probe.serverSideCopy.detail}; ${r.probe.storeChecksum.detail}`,
      ].join('\n'),
    ),
  );
}
