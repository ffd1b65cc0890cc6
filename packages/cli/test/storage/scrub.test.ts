/**
 * Scrub and verify-on-read: a blob corrupted on disk is named by `zot-cli scrub` (and by the
 * periodic `extensions.scrub`), and a GET of it never ends as a clean 200 with wrong bytes.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hasProgram } from '../helpers/images.js';
import { startServer } from '../helpers/server.js';
import { pushImage, randomImage, runCli, sleep } from './support.js';

/** Flips one byte in the middle of a file, in place (same inode, same size): bit rot. */
function corrupt(file: string): void {
  const size = statSync(file).size;
  const fd = openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, size >> 1);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    writeSync(fd, byte, 0, 1, size >> 1);
  } finally {
    closeSync(fd);
  }
}

const blobFile = (root: string, repository: string, digest: string): string =>
  join(root, repository, 'blobs', 'sha256', digest.slice('sha256:'.length));

describe('scrub and corrupt blobs', () => {
  it('zot-cli scrub names the corrupted blob per repository (shared copies too), exits 1; a GET never serves it whole', async () => {
    const server = await startServer({ config: { extensions: { scrub: { enable: true, interval: '1s' } } } });
    try {
      const image = randomImage([3_000_000, 5000]);
      await pushImage(server.url, 'scrub/a', 'v1', image);
      await pushImage(server.url, 'scrub/shared', 'v1', image); // the same blobs: hard links to one copy
      const other = randomImage([7000]);
      await pushImage(server.url, 'scrub/b', 'v1', other);
      const clean = await runCli(['scrub', server.configPath]);
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.match(clean.stdout, /all ok/);

      const bad = image.layers[0]!.digest;
      corrupt(blobFile(server.rootDirectory, 'scrub/a', bad));
      const run = await runCli(['scrub', server.configPath]);
      assert.equal(run.code, 1, 'non-zero exit when anything is corrupt');
      const lines = run.stdout.split('\n');
      assert.match(lines[0]!, /^REPOSITORY\s+STATUS\s+AFFECTED BLOB\s+ERROR$/);
      assert.ok(
        lines.some(
          (l) =>
            l.startsWith('scrub/a ') &&
            l.includes('affected') &&
            l.includes(bad) &&
            l.includes('corrupt: content hashes to') &&
            l.includes('images: v1'),
        ),
        run.stdout,
      );
      assert.ok(
        lines.some((l) => l.startsWith('scrub/shared ') && l.includes(bad)),
        'the deduplicated copy shares the damage, and is named too',
      );
      assert.ok(
        lines.some((l) => /^scrub\/b\s+ok$/.test(l)),
        run.stdout,
      );
      assert.match(run.stdout, /2 affected/);
      const json = JSON.parse((await runCli(['scrub', server.configPath, '--json'])).stdout) as {
        ok: boolean;
        repositories: Array<{ repository: string; problems: Array<{ digest: string; kind: string }> }>;
      };
      assert.equal(json.ok, false);
      assert.deepEqual(
        json.repositories.find((r) => r.repository === 'scrub/a')!.problems.map((p) => [p.digest, p.kind]),
        [[bad, 'corrupt']],
      );

      // Verify on read: a large blob's first GET is cut before its end, later ones are refused
      // up front; a small one is checked before its response starts.
      const first = await fetch(`${server.url}/v2/scrub/a/blobs/${bad}`);
      assert.equal(first.status, 200);
      await assert.rejects(first.arrayBuffer(), 'the body is cut, never completed with wrong bytes');
      const second = await fetch(`${server.url}/v2/scrub/a/blobs/${bad}`);
      assert.equal(second.status, 500);
      assert.match(await second.text(), /corrupt/);
      const small = image.layers[1]!.digest;
      corrupt(blobFile(server.rootDirectory, 'scrub/b', other.layers[0]!.digest));
      const refused = await fetch(`${server.url}/v2/scrub/b/blobs/${other.layers[0]!.digest}`);
      assert.equal(refused.status, 500);
      assert.equal((JSON.parse(await refused.text()) as { errors: Array<{ code: string }> }).errors[0]!.code, 'INTERNAL_ERROR');
      assert.equal((await fetch(`${server.url}/v2/scrub/a/blobs/${small}`)).status, 200, 'intact blobs are served as ever');
      assert.ok(server.logRecords().some((r) => r.msg === 'corrupt blob: not served (run zot-cli scrub)' && r.digest === bad));
      // The periodic scrub (extensions.scrub) logs it as well.
      const deadline = Date.now() + 10_000;
      while (
        !server.logRecords().some((r) => r.msg === 'scrub: repository affected' && JSON.stringify(r).includes(bad)) &&
        Date.now() < deadline
      )
        await sleep(200);
      assert.ok(
        server.logRecords().some((r) => r.msg === 'scrub: repository affected' && r.repository === 'scrub/a'),
        'the background scrub reports it',
      );
      assert.match((await runCli(['scrub', server.configPath])).stdout, /scrub\/b\s+affected/);
    } finally {
      await server.stop();
    }
  });

  it('shows a progress bar on a terminal', { skip: hasProgram('script') ? false : 'needs script(1) for a pseudo-terminal' }, async () => {
    const server = await startServer();
    try {
      await pushImage(server.url, 'scrub/bar', 'v1', randomImage([2_000_000, 1_000_000]));
      const run = await runCli(['scrub', server.configPath], { viaTerminal: true });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /\r\[#{30}\] 100% 4\/4 blobs/, 'the bar reaches 100%');
      assert.match(run.stdout, /scrub\/bar\s+ok/);
    } finally {
      await server.stop();
    }
  });
});
