// @ts-check
// What @mattermost/client's WebSocketClient expects of a browser, given to it on Node.js.
//
// The client is written for browsers: it reads the globals WebSocket (for WebSocket.OPEN; the
// connections themselves are made by the library, with the `ws` package), CloseEvent (when a ping
// goes unanswered) and window (to listen for the browser's online and offline events). Node.js 20
// has none of them. WebSocket and CloseEvent are defined when missing and stay: nothing else
// reads them to decide where it runs. `window` would: many packages take `typeof window !==
// 'undefined'` to mean a browser. So it exists only while the client's own code that needs it
// runs (initialize and close, which the library calls itself), and is removed again.

import WebSocket from 'ws';

class CloseEventStandIn extends Event {
    /** @param {string} type @param {{code?: number, reason?: string, wasClean?: boolean}} init */
    constructor(type, init = {}) {
        super(type);
        this.code = init.code ?? 0;
        this.reason = init.reason ?? '';
        this.wasClean = init.wasClean ?? false;
    }
}

/** Defines the globals the client reads at any time, where Node.js lacks them. */
export function defineClientGlobals() {
    const g = /** @type {any} */ (globalThis);
    g.WebSocket ??= WebSocket;
    g.CloseEvent ??= CloseEventStandIn;
}

/**
 * Runs `fn` with a `window` the client can add its (never fired) online/offline listeners to,
 * then removes it again, unless the process has a window of its own.
 * @template T
 * @param {() => T} fn
 * @returns {T}
 */
export function withWindow(fn) {
    const g = /** @type {any} */ (globalThis);
    if (g.window !== undefined) {
        return fn();
    }
    g.window = new EventTarget();
    try {
        return fn();
    } finally {
        delete g.window;
    }
}
