/**
 * The adapter kinds built into Wasl: each kind's module exports an AdapterFactory
 * (engine/providers/registry.ts: `(spec: AdapterSpec) => Adapter | Promise<Adapter>`) and is wired
 * here, so adapters.yaml can name it (`kind: nppes`). Each provider-data module (NPPES, CAQH
 * ProView, Plan-Net) has its import and its line in BUILTIN.
 */
import type { AdapterKind } from '../../connectors/adapters/types';
import { type AdapterFactory, registerAdapterKind } from './registry';
import { nppesAdapterFactory } from '../../connectors/nppes/client';
import { caqhAdapterFactory } from '../../connectors/caqh/client';
import { planNetAdapterFactory } from '../../connectors/plannet/client';

const BUILTIN: ReadonlyArray<readonly [AdapterKind, AdapterFactory]> = [
  ['nppes', nppesAdapterFactory],
  ['caqh', caqhAdapterFactory as AdapterFactory],
  ['plan-net', planNetAdapterFactory],
];

let registered = false;

/** Registers the built-in kinds once; the engine calls it before reading adapters.yaml. */
export function registerBuiltinAdapterKinds(): void {
  if (registered) return;
  registered = true;
  for (const [kind, factory] of BUILTIN) registerAdapterKind(kind, factory);
}
