// @ts-check
// The bot's websocket: @mattermost/client's WebSocketClient on a `ws` socket, kept connected.

import clientPackage from '@mattermost/client';
import WebSocket from 'ws';
import {backoffDelay} from './backoff.js';
import {defineClientGlobals, withWindow} from './browser.js';
import {acknowledgeEveryMessage} from './nagle.js';

// @mattermost/client is CommonJS: its classes are properties of the default import.
const {WebSocketClient} = clientPackage;

/**
 * @typedef {{event?: string, data?: any, broadcast?: any, seq?: number}} WebSocketMessage
 * @typedef {{
 *   url: string,
 *   token: string,
 *   nagleRemedy: boolean,
 *   backoff: {initialMs: number, maxMs: number},
 *   logger: import('./dispatch.js').Logger,
 *   onMessage: (message: WebSocketMessage) => void,
 *   random?: () => number,
 * }} ConnectionOptions
 */

/**
 * One logical connection: WebSocketClient authenticates each socket with the token
 * (`authentication_challenge`), pings it every 30 s and closes it when a ping goes unanswered or
 * an event is missed; this class makes the sockets (so that the Nagle remedy can reach them) and
 * decides when to connect again.
 *
 * The token goes in the challenge, never in a header of the upgrade request. That way every
 * socket is a new Mattermost connection, which greets the bot with `hello`, on which the bot
 * subscribes. A socket that named a previous connection and carried the session in a header would
 * resume that connection without a `hello`, while the plugin had already forgotten its
 * subscription when it dropped.
 */
export class Connection {
    /** @param {ConnectionOptions} options */
    constructor({url, token, nagleRemedy, backoff, logger, onMessage, random = Math.random}) {
        defineClientGlobals();
        this.url = url;
        this.token = token;
        this.logger = logger;
        /** @type {WebSocket | null} the socket of the moment */
        this.socket = null;
        this.closed = false;
        this.client = new WebSocketClient({
            newWebSocketFn: (socketUrl) => {
                const socket = new WebSocket(socketUrl);
                // The client's only use of a socket's errors is to print the whole event object
                // on stdout (the bot's own output); the close that follows is what reconnects.
                // One line in the library's log instead.
                Object.defineProperty(socket, 'onerror', {get: () => null, set: () => {}});
                socket.on('error', (err) => logger.warn(`websocket error: ${err.message}`));
                if (nagleRemedy) {
                    acknowledgeEveryMessage(socket);
                }
                this.socket = socket;
                return /** @type {any} */ (socket);
            },
        });
        this.client.addMessageListener(onMessage);
        // The client resets its event sequence only when a hello brings a new connection id and a
        // "missed message" listener is registered. Every reconnection is a new connection here
        // (see above), so without this listener the new connection's first event would look like
        // a gap, and the client would close it and try again, forever.
        this.client.addMissedMessageListener(() => {
            logger.debug('a new Mattermost connection (the previous one is gone)');
        });
        // When a socket closes (or fails to open), the client would wait 3 s, then 3·n² s after
        // seven failures. We wait with jittered exponential backoff instead: the client leaves
        // reconnecting to whoever already holds its reconnect timer, and its close listeners run
        // just before it checks. close() clears that timer like its own.
        const internals = /** @type {any} */ (this.client);
        this.client.addCloseListener((failures) => {
            if (this.closed) {
                return;
            }
            const delay = backoffDelay(failures, backoff, random);
            logger.info(`websocket closed; connecting again in ${Math.round(delay)} ms (attempt ${failures})`);
            internals.reconnectTimeout = setTimeout(() => {
                internals.reconnectTimeout = null;
                this.open();
            }, delay);
        });
    }

    /** Connects; from then on, reconnects until close(). */
    open() {
        if (!this.closed) {
            withWindow(() => this.client.initialize(this.url, this.token));
        }
    }

    /** Whether a message sent now goes out on an open socket. */
    get isOpen() {
        return this.socket?.readyState === WebSocket.OPEN;
    }

    /**
     * Sends an action on the open socket; false when there is none (nothing was sent).
     * @param {string} action @param {unknown} data
     */
    send(action, data) {
        if (!this.isOpen) {
            return false;
        }
        this.client.sendMessage(action, data);
        return true;
    }

    /** Closes the socket, and connects no more. What was sent before goes out first. */
    close() {
        this.closed = true;
        // The client closes only an open socket. One still connecting, or already closing, is
        // left to end without the client hearing of it: it would schedule a reconnection of its own.
        const socket = this.socket;
        if (socket && socket.readyState !== WebSocket.OPEN) {
            socket.onclose = null;
            socket.removeAllListeners('error').on('error', () => {}); // "closed before established": we know
            if (socket.readyState === WebSocket.CONNECTING) {
                socket.terminate();
            }
        }
        withWindow(() => this.client.close());
        this.socket = null;
    }
}
