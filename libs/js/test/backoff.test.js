// Reconnection delays: doubling from initialMs, capped at maxMs, jittered within the upper half.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {backoffDelay} from '../src/backoff.js';

const limits = {initialMs: 1000, maxMs: 30000};

test('the delay doubles with each failure up to the cap', () => {
    const top = (n) => backoffDelay(n, limits, () => 0.999999);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50].map((n) => Math.round(top(n))), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test('jitter keeps every delay between half its step and the step', () => {
    assert.equal(backoffDelay(3, limits, () => 0), 2000);
    assert.equal(backoffDelay(3, limits, () => 0.5), 3000);
    for (let i = 0; i < 100; i++) {
        const d = backoffDelay(4, limits);
        assert.ok(d >= 4000 && d < 8000, String(d));
    }
});
