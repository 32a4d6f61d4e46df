/**
 * wasl-claims-predict: scores each live claim of a batch for denial with the model the project
 * ships (transformers/claims/data/denial-model.json, trained by scripts/claims/train-denial-model.ts),
 * or a rule-based fallback when the model is missing or broken; the result says which decided.
 * `action: hold` sends likely denials to failed_claims (PREDICTED_DENIAL) for review.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { logger } from '../../common/logger';
import { SECRET_KEY_HELP } from '../../common/secret-box';
import { predictBatch } from '../../engine/claims/stages';
import { loadDenialModelOrReason } from '../../transformers/claims/predict';
import { handleStage } from '../shared/claims-stage';
import { getRuntime } from '../shared/runtime';

interface ClaimsPredictDef extends NodeDef {
  channel: string;
  /** Model file; '' = the shipped model. */
  modelFile: string;
  /** Denial probability at or above which a claim is "likely denied"; '' = the model's own threshold. */
  threshold: string | number;
  action: 'flag' | 'hold';
}

export = function register(RED: NodeAPI): void {
  function ClaimsPredictNode(this: Node, config: ClaimsPredictDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const channel = config.channel || node.z || node.id;
    const loaded = loadDenialModelOrReason(config.modelFile || undefined);
    if (!loaded.model) logger({ channel, stage: 'claims-predict' }).warn('denial model not loaded; the rule-based fallback decides', { reason: loaded.error });
    const threshold = config.threshold === '' || config.threshold === undefined ? undefined : Number(config.threshold);
    handleStage(RED, node, runtime, 'wasl-claims-predict', channel, 'predict', (batch) => {
      if (!runtime.secretBox) throw new Error(`claims batches are sealed: ${SECRET_KEY_HELP}`);
      return predictBatch(batch, { model: loaded.model, sealer: runtime.secretBox, action: config.action === 'flag' ? 'flag' : 'hold', threshold });
    });
  }
  RED.nodes.registerType('wasl-claims-predict', ClaimsPredictNode);
};
