/** `client retention`: S3 lifecycle rules for what is kept beside the data. */
import type { Command } from 'commander';
import { lifecycleConfiguration } from '../retention';
import { EXIT, int } from '../cli';

export function registerRetention(program: Command): void {
  program
    .command('retention')
    .description(
      'print the S3 lifecycle rules for quarantine, collection records and incomplete uploads (docs/retention.md)',
    )
    .option('--prefix <prefix>', 'the destination prefix, ending in "/"', 'binance/')
    .option('--quarantine-days <n>', 'expire put-aside bytes after', int, 90)
    .option('--records-days <n>', 'expire collection records and working state after', int, 400)
    .option(
      '--incomplete-upload-days <n>',
      'abort incomplete multipart uploads after (0: no such rule, for MinIO)',
      int,
      7,
    )
    .action((flags: { prefix: string; quarantineDays: number; recordsDays: number; incompleteUploadDays: number }) => {
      try {
        console.log(JSON.stringify(lifecycleConfiguration(flags), null, 2));
      } catch (err) {
        console.error(`retention: ${(err as Error).message}`);
        process.exit(EXIT.badInput);
      }
    });
}
