import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { shareUploadSessions } from '../../src/workers/upload-sessions.js';

// Run as a child: the channel to the parent closes while the worker side keeps using it (a
// worker between the primary's death and its own exit). Nothing it sends may crash it.
if (process.argv[2] === 'closed-channel') {
  process.disconnect();
  const sharing = shareUploadSessions();
  sharing.connect(
    () => undefined,
    () => [{ kind: 'opened', client: 'c', uploadId: 'u', at: 1 }],
  );
  sharing.publish({ kind: 'closed', uploadId: 'u' });
  // Still alive a moment later: nothing above threw or emitted an unhandled 'error'.
  setTimeout(() => process.exit(0), 50);
} else {
  test('a worker whose channel to the primary closed sends nothing and does not crash', async () => {
    const child = fork(fileURLToPath(import.meta.url), ['closed-channel'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr);
  });
}
