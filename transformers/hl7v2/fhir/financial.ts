import type { MapperTable } from './types';

export const mappers: MapperTable = {};
