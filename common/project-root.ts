/** Where the project's files are, whether running from dist/ (npm start) or from sources (tsx). */
import fs from 'node:fs';
import path from 'node:path';

let root: string | undefined;

/** The directory holding wasl's package.json: shipped data files are found from here. */
export function projectRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'wasl') return (root = dir);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the wasl package root above ' + __dirname);
    dir = parent;
  }
}
