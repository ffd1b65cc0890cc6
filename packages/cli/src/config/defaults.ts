import type { ZotConfig } from '@zotjs/config';

/** What `zot-cli serve` runs with when no config file is given. */
export const EMBEDDED_DEFAULT_CONFIG: ZotConfig = {
  distSpecVersion: '1.1.0',
  storage: { rootDirectory: './zot-data' },
  http: { address: '127.0.0.1', port: '5000' },
  log: { level: 'info' },
};
