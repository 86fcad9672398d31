/** `npm run stack -- up|down|status|wipe` */
import { ensureStackBuckets } from './buckets';
import { minioEndpoint, stackConfig, stackDown, stackUp, temporalAddress, webUiUrl, wipeStack } from './local-stack';

const s = stackConfig();
const command = process.argv[2] ?? 'status';
switch (command) {
  case 'up':
    await stackUp(s);
    await ensureStackBuckets(s);
    break;
  case 'down':
    await stackDown(s);
    break;
  case 'wipe':
    await stackDown(s);
    wipeStack(s);
    break;
  case 'status':
    console.log(
      JSON.stringify(
        { temporal: temporalAddress(s), webUi: webUiUrl(s), minio: minioEndpoint(s), dataDir: s.dataDir },
        null,
        2,
      ),
    );
    break;
  default:
    console.error(`unknown command "${command}"; use up, down, status or wipe`);
    process.exit(2);
}
