// Regenerates the TypeScript code of the protos into src/generated (or into the folder given as
// the first argument, which the staleness test uses), with the buf binary shipped in node_modules.
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const output = process.argv[2] === undefined ? undefined : resolve(process.argv[2]);
const buf = join(here, '../../../node_modules/.bin/buf');
const args = ['generate'];
if (output !== undefined) {
  args.push(
    '--template',
    JSON.stringify({
      version: 'v2',
      plugins: [
        {
          local: join(here, '../../../node_modules/.bin/protoc-gen-ts_proto'),
          out: output,
          opt: [
            'nestJs=true',
            'addGrpcMetadata=false',
            'forceLong=string',
            'useOptionals=none',
            'outputEncodeMethods=false',
            'outputJsonMethods=false',
            'outputPartialMethods=false',
            'esModuleInterop=true',
            'useDate=false',
          ],
        },
      ],
    }),
  );
}
execFileSync(buf, args, { cwd: here, stdio: 'inherit' });
