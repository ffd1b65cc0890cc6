import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { clusterMetricsRenderer, shareRepositoryChanges } from '../src/cluster.js';
import { Registry as PromRegistry } from 'prom-client';
import type { StorageUsage } from '../src/storage-usage.js';

// Run as a child: the channel to the parent closes while the worker side keeps using it (a
// worker between the primary's death and its own exit). Nothing it sends may crash it.
if (process.argv[2] === 'closed-channel') {
  process.disconnect();
  shareRepositoryChanges({ repositoryChanged: () => undefined } as unknown as StorageUsage).announce('repo');
  const render = clusterMetricsRenderer(new PromRegistry());
  render().then(
    () => process.exit(3),
    (err: Error) => {
      // Not a timeout: it fails at once, saying why.
      process.exit(err.message.includes('no channel') ? 0 : 4);
    },
  );
} else {
  test('a worker whose channel to the primary closed sends nothing and does not crash', async () => {
    const child = fork(fileURLToPath(import.meta.url), ['closed-channel'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr);
  });
}
