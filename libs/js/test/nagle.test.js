// The Nagle remedy: TCP_NODELAY on the bot's socket, and a pong after every message it reads.

import assert from 'node:assert/strict';
import {EventEmitter} from 'node:events';
import {test} from 'node:test';
import WebSocket from 'ws';
import {acknowledgeEveryMessage} from '../src/nagle.js';
import {FakeMattermost, until} from './fake-mattermost.js';

test('TCP_NODELAY is set on the socket once it is upgraded, and a pong follows each message', () => {
    const ws = Object.assign(new EventEmitter(), {OPEN: 1, readyState: 1, pongs: 0, pong() { this.pongs++; }});
    const calls = [];
    acknowledgeEveryMessage(/** @type {any} */ (ws));
    ws.emit('upgrade', {socket: {setNoDelay: (on) => calls.push(on)}});
    assert.deepEqual(calls, [true]);
    ws.emit('message', '{}');
    ws.emit('message', '{}');
    assert.equal(ws.pongs, 2);
    ws.readyState = 2; // closing: nothing more is sent
    ws.emit('message', '{}');
    assert.equal(ws.pongs, 2);
});

test('over a real socket, the server receives one pong per message it sent', async (t) => {
    const server = await new FakeMattermost().start();
    t.after(() => server.stop());
    const ws = new WebSocket(server.url.replace('http', 'ws') + '/api/v4/websocket');
    acknowledgeEveryMessage(ws);
    await new Promise((resolve) => ws.once('open', resolve));
    const peer = await until(() => server.socket, 'the server side');
    for (let i = 0; i < 3; i++) {
        server.event(peer, 'typing', {});
    }
    await until(() => peer.pongs === 3, 'three pongs');
    ws.close();
});
