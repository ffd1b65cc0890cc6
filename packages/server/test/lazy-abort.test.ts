import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LazyAbort } from '../src/lazy-abort.js';

describe('LazyAbort: the per-request disconnect signal, made on first use', () => {
  test('a signal asked for before the disconnect is aborted by it, with the reason', () => {
    const lazy = new LazyAbort();
    const signal = lazy.signal;
    assert.equal(signal.aborted, false);
    assert.equal(lazy.signal, signal, 'one signal per request');
    const reason = new Error('client disconnected');
    lazy.abort(reason);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);
    assert.equal(lazy.aborted, true);
  });

  test('a signal first asked for after the disconnect is already aborted', () => {
    const lazy = new LazyAbort();
    const reason = new Error('gone');
    lazy.abort(reason);
    lazy.abort(new Error('twice')); // the first reason stays
    assert.equal(lazy.signal.aborted, true);
    assert.equal(lazy.signal.reason, reason);
  });
});
