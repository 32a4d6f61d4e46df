/**
 * wasl-claims-price: prices each live claim with the Medicare PFS formula (RVU × GPCI × CF × units,
 * modifiers -26/-TC/-50/-51) from the shipped CMS files (transformers/claims/price.ts). Money is
 * integer cents. A claim that cannot be priced (unknown code, locality, CF) fails with the reason.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { priceBatch } from '../../engine/claims/stages';
import { loadFeeSchedule } from '../../transformers/claims/price';
import { handleStage, refuseAll } from '../shared/claims-stage';
import { getRuntime } from '../shared/runtime';
import { setStatus } from '../shared/status';

interface ClaimsPriceDef extends NodeDef {
  channel: string;
  /** Dollars per RVU as a decimal string ("36.04"), or `cms` to pick the CMS value by date of service. */
  conversionFactor: string;
  useGpci: boolean | string;
}

export = function register(RED: NodeAPI): void {
  function ClaimsPriceNode(this: Node, config: ClaimsPriceDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const channel = config.channel || node.z || node.id;
    let schedule;
    try {
      schedule = loadFeeSchedule();
    } catch (err) {
      setStatus(node, 'down', 'fee schedule');
      refuseAll(node, runtime, 'wasl-claims-price', 'CLAIMS_FEE_SCHEDULE', `fee schedule not loaded: ${(err as Error).message}`);
      return;
    }
    const deps = { schedule, conversionFactor: config.conversionFactor || '36.04', useGpci: config.useGpci === true || config.useGpci === 'true' };
    // A malformed factor would fail every batch as a validation error: refuse it here, once.
    if (!/^(cms|[0-9]+(\.[0-9]{1,4})?)$/.test(deps.conversionFactor)) {
      setStatus(node, 'down', 'conversion factor');
      refuseAll(node, runtime, 'wasl-claims-price', 'CLAIMS_CONVERSION_FACTOR', `conversion factor must be dollars per RVU with up to 4 decimals (e.g. 36.04) or cms, got '${deps.conversionFactor}'`);
      return;
    }
    handleStage(RED, node, runtime, 'wasl-claims-price', channel, 'price', (batch) => priceBatch(batch, deps));
  }
  RED.nodes.registerType('wasl-claims-price', ClaimsPriceNode);
};
