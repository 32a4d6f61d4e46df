/** Where the project's files are, whether running from dist/ (npm start) or from sources (tsx). */
import path from 'node:path';
import { projectRoot } from '../common/project-root';

export { projectRoot };

/** Compiled Node-RED nodes (with their .html, locales and generated package.json). */
export function compiledNodesDir(): string {
  return path.join(projectRoot(), 'dist', 'nodes');
}
