/**
 * `superviseWorkers` as an embedder uses it: their own script, two workers on one port, one of
 * them chosen for maintenance, upload-session counts shared, SIGTERM stopping them all.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';

const script = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'serve-with-workers.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** POST on a connection of its own (agent: false), so the kernel picks a worker for each. */
function post(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe("superviseWorkers with an embedder's own server script", () => {
  const root = mkdtempSync(join(tmpdir(), 'zot-server-workers-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('two workers serve one port, one runs maintenance, session limits count both, SIGTERM stops all', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [script, root, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const lines = (): Array<Record<string, unknown>> =>
      output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    try {
      const deadline = Date.now() + 15_000;
      while (lines().filter((l) => 'maintenance' in l).length < 2) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`workers did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const started = lines().filter((l) => 'maintenance' in l);
      assert.equal(new Set(started.map((l) => l.worker)).size, 2, 'two worker processes');
      assert.equal(started.filter((l) => l.maintenance === true).length, 1, 'exactly one runs maintenance');

      // The per-client limit (2) counts the sessions of both workers: a third is refused by either.
      const url = `http://127.0.0.1:${port}/v2/embed/repo/blobs/uploads/`;
      assert.equal(await post(url), 202);
      assert.equal(await post(url), 202);
      await new Promise((r) => setTimeout(r, 300)); // the workers hear of each other's sessions within moments
      // Rounds of attempts on connections of their own, until the kernel has sent some to each worker.
      const refusedBy = (): Set<unknown> =>
        new Set(
          lines()
            .filter((l) => l.status === 429)
            .map((l) => l.worker),
        );
      for (let round = 0; round < 10 && refusedBy().size < 2; round++) {
        const more = await Promise.all(Array.from({ length: 6 }, () => post(url)));
        assert.deepEqual(more, [429, 429, 429, 429, 429, 429], output);
        await new Promise((r) => setTimeout(r, 20)); // the request lines are printed as responses close
      }
      assert.equal(refusedBy().size, 2, `both workers refused a third session:\n${output}`);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);
    const stopped = lines().filter((l) => 'stopped' in l);
    assert.equal(stopped.length, 2, output);
    assert.ok(
      stopped.every((l) => l.stopped === true),
      output,
    );
    assert.deepEqual(lines().at(-1), { supervisor: 'stopped', code: 0 });
  });
});
