/**
 * channels.yaml: schema, loader, compiler to Node-RED flows, and the `validate` command.
 */
export { compileChannel, compileChannels, compileChannelsToJson, type CompileOptions } from './compile';
export type { CompiledRule } from './compile-rules';
export { DEFAULTS } from './defaults';
export type { Env } from './env-substitution';
export type { NodeRedFlow, NodeRedNode, NodeRedTab } from './flow-types';
export { buildFlowsFile } from './flows-file';
export { loadChannels, readChannelsFile, validateChannelsText, type ValidationResult } from './load';
export { nodeId } from './node-id';
export { ChannelsFileError, formatProblem, type Problem } from './problems';
export { channelsSchema } from './schema';
export type * from './types';
export { runValidate, type CommandIo } from './validate-command';
