// @ts-check
// How long to wait before connecting again: jittered exponential backoff.

/**
 * The delay before reconnection attempt `failures` (1 after the first failure or drop):
 * `initialMs · 2^(failures-1)`, at most `maxMs`, then "equal jitter": a random point in its upper
 * half, so that replicas cut off together (a server restart) do not come back in one burst, and
 * none waits less than half the step.
 * @param {number} failures connection failures in a row, counting the drop that started them
 * @param {{initialMs: number, maxMs: number}} limits
 * @param {() => number} random a number in [0, 1): `Math.random`, or a fixed one in tests
 * @returns {number} milliseconds
 */
export function backoffDelay(failures, {initialMs, maxMs}, random = Math.random) {
    const step = Math.min(maxMs, initialMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
    return step / 2 + random() * (step / 2);
}

/** The defaults (the Go and Python libraries' too): 0.25–0.5 s after a drop, doubling up to 15–30 s. */
export const DEFAULT_BACKOFF = Object.freeze({initialMs: 500, maxMs: 30000});
