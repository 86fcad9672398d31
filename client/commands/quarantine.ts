/** `client quarantine …`: list, accept or discard files put aside. */
import type { Command } from 'commander';
import { formatQuarantine, runReview } from '../review';
import { env, fail, int, withClient } from '../cli';

export function registerQuarantine(program: Command): void {
  const quarantine = program
    .command('quarantine')
    .description('files put aside because they did not match their .CHECKSUM: list, accept or discard them');
  const target = (cmd: Command) =>
    cmd
      .option('--bucket <name>', "destination bucket (default: the worker's DEST_BUCKET)")
      .option('--prefix <prefix>', 'destination prefix, ending in "/" (default: the worker\'s DEST_PREFIX)')
      .option('--json', 'print JSON');
  type TargetFlags = { bucket?: string; prefix?: string; json?: boolean };
  const destinationOf = (f: TargetFlags) => ({
    ...(f.bucket ? { bucket: f.bucket } : {}),
    ...(f.prefix !== undefined ? { prefix: f.prefix } : {}),
  });
  target(
    quarantine
      .command('list')
      .description('list quarantined files with their evidence (hashes, ETags, sizes, what was kept)'),
  )
    .option('--limit <n>', 'at most this many', int, 200)
    .action(async (flags: TargetFlags & { limit: number }) => {
      await withClient(async (client) => {
        const r = await runReview(client, env.TEMPORAL_TASK_QUEUE, {
          action: 'list',
          destination: destinationOf(flags),
          limit: flags.limit,
        });
        console.log(flags.json ? JSON.stringify(r) : formatQuarantine(r as never));
      }).catch(fail);
    });
  target(
    quarantine
      .command('accept')
      .argument('<key>', 'archive key, e.g. data/spot/monthly/aggTrades/BNBBTC/BNBBTC-aggTrades-2018-01.zip')
      .description(
        'promote a quarantined file to its place in the destination, recording an "accepted" proof with your reason',
      ),
  )
    .requiredOption(
      '--sha256 <hash>',
      'the SHA-256 of the quarantined bytes you reviewed, as "quarantine list" prints it: nothing else is accepted',
    )
    .requiredOption(
      '--reason <text>',
      'why these bytes are right although they do not match the .CHECKSUM (recorded with the proof)',
    )
    .action(async (key: string, flags: TargetFlags & { sha256: string; reason: string }) => {
      await withClient(async (client) => {
        const r = (await runReview(client, env.TEMPORAL_TASK_QUEUE, {
          action: 'accept',
          destination: destinationOf(flags),
          key,
          sha256: flags.sha256,
          reason: flags.reason,
        })) as { finalKey: string; proofKey: string | null; already: boolean };
        console.log(
          flags.json
            ? JSON.stringify(r)
            : r.already
              ? `${key} was already accepted`
              : `accepted ${key}: now at ${r.finalKey} (proof: ${r.proofKey})`,
        );
      }).catch(fail);
    });
  target(
    quarantine
      .command('discard')
      .argument('<key>', 'archive key')
      .description('delete a quarantined file (the destination keeps what it has)'),
  )
    .option('--sha256 <hash>', 'discard only if the quarantined bytes are still the ones you reviewed')
    .option('--reason <text>', "why (kept in the review's workflow history)")
    .action(async (key: string, flags: TargetFlags & { sha256?: string; reason?: string }) => {
      await withClient(async (client) => {
        const r = (await runReview(client, env.TEMPORAL_TASK_QUEUE, {
          action: 'discard',
          destination: destinationOf(flags),
          key,
          sha256: flags.sha256,
          reason: flags.reason,
        })) as { removed: boolean };
        console.log(
          flags.json
            ? JSON.stringify(r)
            : r.removed
              ? `discarded the quarantined copy of ${key}`
              : `nothing quarantined for ${key} (already discarded?)`,
        );
      }).catch(fail);
    });
}
