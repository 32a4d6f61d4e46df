/**
 * test/support/engine-process.ts, usable from dist/. The helper finds `dist/engine/main.js` two
 * folders above its own, which is right when mocha runs it from sources (tsx) and wrong once
 * compiled (it looks for dist/dist/engine/main.js). Until it uses engine/paths.ts projectRoot(),
 * the bench loads the helper's source through tsx (a dev dependency) when the compiled copy
 * would look in the wrong place. Delete this file once the helper is fixed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../engine/paths';

type Helper = typeof import('../../test/support/engine-process');

function loadHelper(): Helper {
  // The compiled helper sits two folders below dist/, as this file does: same lookup.
  if (fs.existsSync(path.join(__dirname, '..', '..', 'dist', 'engine', 'main.js'))) {
    return require('../../test/support/engine-process') as Helper;
  }
  const tsx = require('tsx/cjs/api') as { require(id: string, from: string): unknown };
  return tsx.require(path.join(projectRoot(), 'test', 'support', 'engine-process.ts'), __filename) as Helper;
}

export const { startEngineProcess, tempDir, writeTestChannels } = loadHelper();
export type { EngineProcess } from '../../test/support/engine-process';
