import type { ServerResponse } from 'node:http';
import type { RecyclingReadable } from '@zotjs/core';

/**
 * Writes `body` to `res` like `pipe` does (pausing while the socket is full), and hands each
 * chunk back to the body once the socket has taken its bytes: the write callback fires only
 * after the bytes were copied to the kernel, or with an error (then the chunk is left to the
 * garbage collector). Resolves nothing; counts the bytes sent into `counted`.
 */
export function pumpRecycling(body: RecyclingReadable, res: ServerResponse, counted: { bytes: number }): void {
  body.on('data', (chunk: Buffer) => {
    counted.bytes += chunk.length;
    const more = res.write(chunk, (err) => {
      if (!err) body.recycle(chunk);
    });
    if (!more) body.pause();
  });
  res.on('drain', () => body.resume());
  body.once('end', () => res.end());
  // Headers are gone already: a failed read can only cut the connection (never a short 200).
  body.once('error', (err) => res.destroy(err));
  res.once('close', () => {
    if (!body.destroyed) body.destroy();
  });
}
