/**
 * wasl-claims-validate: runs the declarative rule set (transformers/claims/data/rules.yaml, or
 * the file the node names) over a claim batch, including duplicates on (claim id, facility id)
 * inside the batch and against the production database named by `productionUrlEnv`. Failing
 * claims travel on with their reasons and end in failed_claims.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { SECRET_KEY_HELP } from '../../common/secret-box';
import { openProductionWriter } from '../../connectors/claims/connections';
import type { ProductionWriter } from '../../connectors/claims/production';
import { validateBatch } from '../../engine/claims/stages';
import { compileRuleSet, loadRuleSet } from '../../transformers/claims/validate';
import { handleStage, refuseAll } from '../shared/claims-stage';
import { getRuntime } from '../shared/runtime';
import { setStatus } from '../shared/status';

interface ClaimsValidateDef extends NodeDef {
  channel: string;
  /** Rule file path; '' = the shipped rule set. */
  rulesFile: string;
  /** Environment variable with the production database URL, for duplicates; '' = in-batch only. */
  productionUrlEnv: string;
  /** Create missing production tables (as the destination does) before the first lookup. */
  createTables?: boolean | string;
}

export = function register(RED: NodeAPI): void {
  function ClaimsValidateNode(this: Node, config: ClaimsValidateDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const channel = config.channel || node.z || node.id;
    let rules;
    try {
      rules = compileRuleSet(loadRuleSet(config.rulesFile || undefined));
    } catch (err) {
      setStatus(node, 'down', 'rules invalid');
      refuseAll(node, runtime, 'wasl-claims-validate', 'CLAIMS_RULES_INVALID', `claims rule set not loaded: ${(err as Error).message}`);
      return;
    }
    const url = config.productionUrlEnv ? process.env[config.productionUrlEnv] : undefined;
    let production: Promise<{ writer: ProductionWriter; release(): Promise<void> }> | undefined;
    const compiled = rules;
    handleStage(RED, node, runtime, 'wasl-claims-validate', channel, 'validate', async (batch) => {
      if (!runtime.secretBox) throw new Error(`claims batches are sealed: ${SECRET_KEY_HELP}`);
      if (url) {
        production ??= openProductionWriter(url, runtime.secretBox).then(async (p) => {
          if (config.createTables === true || config.createTables === 'true') await p.writer.ensureSchema();
          return p;
        });
        // A failed open is retried with the next delivery, not cached.
        production.catch(() => (production = undefined));
      }
      const writer = production ? (await production).writer : undefined;
      return validateBatch(batch, { rules: compiled, sealer: runtime.secretBox, production: writer });
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      void Promise.resolve(production)
        .then((p) => p?.release())
        .catch(() => undefined)
        .then(() => done());
    });
  }
  RED.nodes.registerType('wasl-claims-validate', ClaimsValidateNode);
};
