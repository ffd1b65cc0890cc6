import type { RequestRecord } from '@zotjs/core';

export type { RequestRecord } from '@zotjs/core';

export type RequestObserver = (record: RequestRecord) => void;

export const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
