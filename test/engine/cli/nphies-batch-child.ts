/** Runs `wasl <args>` in a child process under tsx, for tests that kill it part-way. */
import { main } from '../../../engine/cli/index';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
