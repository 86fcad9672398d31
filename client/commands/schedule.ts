/** `client schedule …`: Temporal Schedules that start collections. */
import type { Command } from 'commander';
import { InvalidRequestError } from '../collection';
import { PRESETS, backfillSchedule, createSchedule, updateScheduleRequest, type PresetName } from '../schedules';
import { env, fail, requestFrom, requestOptions, withClient, type CollectFlags } from '../cli';

export function registerSchedule(program: Command): void {
  const schedule = program.command('schedule').description('Temporal Schedules that start collections');
  requestOptions(
    schedule.command('create').description('create a schedule from a preset (daily, monthly)').argument('<scheduleId>'),
  )
    .option('--preset <name>', `one of ${Object.keys(PRESETS).join(', ')}`, 'daily')
    .option('--every <duration>', "instead of the preset's calendar, run at this interval (e.g. 1h)")
    .option('--paused', 'create it paused')
    .action(
      async (scheduleId: string, flags: CollectFlags & { preset: PresetName; every?: string; paused?: boolean }) => {
        if (!(flags.preset in PRESETS))
          fail(new InvalidRequestError([`--preset: use one of ${Object.keys(PRESETS).join(', ')}`]));
        await withClient(async (client) => {
          await createSchedule(client, {
            scheduleId,
            taskQueue: env.TEMPORAL_TASK_QUEUE,
            preset: flags.preset,
            request: requestFrom(flags),
            paused: flags.paused,
            spec: flags.every ? { intervals: [{ every: flags.every as '1h' }] } : undefined,
          });
          console.log(`schedule ${scheduleId} created (${flags.preset})`);
        }).catch(fail);
      },
    );
  schedule
    .command('list')
    .description('list schedules')
    .action(async () => {
      await withClient(async (client) => {
        for await (const s of client.schedule.list())
          console.log(
            `${s.scheduleId}  ${s.state.paused ? 'paused' : 'active'}  next: ${s.info.nextActionTimes[0]?.toISOString() ?? '-'}`,
          );
      });
    });
  schedule
    .command('describe')
    .argument('<scheduleId>')
    .description('show a schedule')
    .action(async (id: string) => {
      await withClient(async (client) => {
        const d = await client.schedule.getHandle(id).describe();
        console.log(
          JSON.stringify(
            {
              id: d.scheduleId,
              paused: d.state.paused,
              spec: d.spec,
              action: d.action,
              policies: d.policies,
              recentActions: d.info.recentActions,
              nextActionTimes: d.info.nextActionTimes,
            },
            null,
            2,
          ),
        );
      });
    });
  requestOptions(
    schedule.command('update').argument('<scheduleId>').description('replace the collection request a schedule starts'),
  ).action(async (id: string, flags: CollectFlags) => {
    await withClient((client) => updateScheduleRequest(client, id, requestFrom(flags))).catch(fail);
    console.log(`schedule ${id} updated`);
  });
  schedule
    .command('trigger')
    .argument('<scheduleId>')
    .description('start a run now')
    .action(async (id: string) => {
      await withClient((client) => client.schedule.getHandle(id).trigger());
      console.log(`schedule ${id} triggered`);
    });
  schedule
    .command('pause')
    .argument('<scheduleId>')
    .description('pause')
    .action(async (id: string) => {
      await withClient((client) => client.schedule.getHandle(id).pause('paused from the client'));
      console.log(`schedule ${id} paused`);
    });
  schedule
    .command('unpause')
    .argument('<scheduleId>')
    .description('unpause')
    .action(async (id: string) => {
      await withClient((client) => client.schedule.getHandle(id).unpause('unpaused from the client'));
      console.log(`schedule ${id} unpaused`);
    });
  schedule
    .command('backfill')
    .argument('<scheduleId>')
    .description('run every period between two times, each collecting its own period')
    .requiredOption('--from <iso>', 'start time, e.g. 2025-01-01T00:00:00Z')
    .requiredOption('--to <iso>', 'end time')
    .action(async (id: string, flags: { from: string; to: string }) => {
      const from = new Date(flags.from);
      const to = new Date(flags.to);
      if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from > to)
        fail(new InvalidRequestError(['--from/--to: give two ISO times, from before to']));
      await withClient((client) => backfillSchedule(client, id, from, to));
      console.log(`backfill of ${id} from ${from.toISOString()} to ${to.toISOString()} requested`);
    });
  schedule
    .command('delete')
    .argument('<scheduleId>')
    .description('delete')
    .action(async (id: string) => {
      await withClient((client) => client.schedule.getHandle(id).delete());
      console.log(`schedule ${id} deleted`);
    });
}
