/**
 * Preloaded into the engine (NODE_OPTIONS=--require) when BENCH_MLLP_PROFILE_DIR is set: Node
 * refuses `--cpu-prof` in NODE_OPTIONS, so profile through the inspector instead and write a
 * .cpuprofile (open it in Chrome DevTools or speedscope) when the process exits. The inspector
 * session answers synchronously on its own thread, so the 'exit' handler can still write.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector';

const dir = process.env.BENCH_MLLP_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err || !result) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `engine-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
