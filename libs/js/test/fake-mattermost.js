// A stand-in for Mattermost and the plugin, on loopback, for the library's unit tests: the REST
// calls the library makes, and a websocket that speaks Mattermost's protocol (authentication
// challenge, hello, seq numbers, seq_reply) and records what the bot sends, pongs included.
// The real server is in tests/e2e (lib_js_test.go).

import http from 'node:http';
import {once} from 'node:events';
import {WebSocketServer} from 'ws';
import {PREFIX, API_PATH} from '../src/protocol.js';

export const TOKEN = 'bottoken';
export const BOT_ID = 'bot1bot1bot1bot1bot1bot1b1';

/** Resolves when check() is true, polling; rejects after a long time (a hung test, not a timing assertion). */
export async function until(check, what = 'the condition') {
    for (let i = 0; i < 1000; i++) {
        const value = check();
        if (value) {
            return value;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`gave up waiting for ${what}`);
}

export class FakeMattermost {
    constructor() {
        /** REST requests: {method, path, body, auth} */
        this.requests = [];
        /** REST answers by "METHOD path": (body) => [status, json] */
        this.routes = new Map();
        /** Live sockets, newest last, each with .sent (the bot's messages, parsed), .pongs. */
        this.sockets = [];
        this.connections = 0;
        /** Sockets that authenticated (a socket the bot gave up on while connecting never does). */
        this.authenticated = 0;
        /** Refuse websocket connections while > 0 (each refusal counts down). */
        this.refuse = 0;
        /** Drop REST requests without an answer while > 0 (each counts down). */
        this.dropRest = 0;
        this.route('GET /api/v4/users/me', (body, auth) => (auth?.toLowerCase() === `bearer ${TOKEN}` ?
            [200, {id: BOT_ID, username: 'bot'}] : [401, {id: 'api.context.session_expired.app_error', status_code: 401}]));
        this.route('POST /api/v4/posts', (body) => [201, {...body, id: 'postpostpostpostpostpost01', user_id: BOT_ID}]);
        this.route(`POST ${API_PATH}/commands`, (body) => [200, {command: {...body, autocomplete: body.autocomplete ?? true}}]);
        this.route(`POST ${API_PATH}/ack`, (body) => [200, {event_id: body.event_id, status: 'applied'}]);
    }

    /** @param {string} key "METHOD path" @param {(body: any, auth?: string) => [number, any]} answer */
    route(key, answer) {
        this.routes.set(key, answer);
    }

    async start() {
        this.http = http.createServer((req, res) => this.serve(req, res));
        this.wss = new WebSocketServer({noServer: true});
        this.http.on('upgrade', (req, socket, head) => {
            if (this.refuse > 0) {
                this.refuse--;
                socket.destroy();
                return;
            }
            this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
        });
        this.http.listen(0, '127.0.0.1');
        await once(this.http, 'listening');
        this.url = `http://127.0.0.1:${this.http.address().port}`;
        return this;
    }

    async stop() {
        for (const ws of this.wss.clients) {
            ws.terminate();
        }
        this.wss.close();
        this.http.closeAllConnections();
        await new Promise((resolve) => this.http.close(resolve));
    }

    serve(req, res) {
        if (this.dropRest > 0) { // as if the server were not there yet
            this.dropRest--;
            req.socket.destroy();
            return;
        }
        let raw = '';
        req.on('data', (chunk) => { raw += chunk; });
        req.on('end', () => {
            const path = req.url.split('?')[0];
            const body = raw ? JSON.parse(raw) : undefined;
            this.requests.push({method: req.method, path, body, auth: req.headers.authorization});
            const answer = this.routes.get(`${req.method} ${path}`) ??
                (path.startsWith(`${API_PATH}/commands/`) && req.method === 'DELETE' && (() => [200, {}]));
            const [status, json] = answer ? answer(body, req.headers.authorization) : [404, {message: 'not found'}];
            res.writeHead(status, {'Content-Type': 'application/json'});
            res.end(JSON.stringify(json));
        });
    }

    accept(ws, req) {
        this.connections++;
        ws.sent = [];
        ws.pongs = 0;
        ws.seq = 0;
        ws.requestUrl = req.url;
        ws.upgradeAuth = req.headers.authorization;
        ws.connectionId = `conn${this.connections}`.padEnd(26, 'x');
        ws.on('pong', () => { ws.pongs++; });
        ws.on('message', (raw) => {
            const msg = JSON.parse(raw.toString());
            ws.sent.push(msg);
            if (msg.action === 'authentication_challenge') {
                ws.authenticated = msg.data?.token === TOKEN;
                ws.send(JSON.stringify({status: ws.authenticated ? 'OK' : 'FAIL', seq_reply: msg.seq}));
                if (ws.authenticated) {
                    this.authenticated++;
                    this.event(ws, 'hello', {connection_id: ws.connectionId, server_version: '11.4.0'});
                }
            } else if (msg.action === 'ping') {
                ws.send(JSON.stringify({status: 'OK', seq_reply: msg.seq, data: {text: 'pong'}}));
            } else if (msg.action === PREFIX + 'subscribe' && this.autoSubscribe !== false) {
                this.plugin(ws, 'subscribed', {connection_id: ws.connectionId, answer_window_ms: 2500, kept: 0, expand: msg.data.expand ?? {}});
            }
        });
        ws.on('close', () => { this.sockets = this.sockets.filter((s) => s !== ws); });
        this.sockets.push(ws);
    }

    /** The newest socket. */
    get socket() {
        return this.sockets[this.sockets.length - 1];
    }

    /** Sends a Mattermost event on ws, with the connection's next seq. */
    event(ws, event, data) {
        ws.send(JSON.stringify({event, data, broadcast: {user_id: BOT_ID}, seq: ws.seq++}));
    }

    /** Sends a plugin event (custom_<id>_<name>). */
    plugin(ws, name, data) {
        this.event(ws, PREFIX + name, data);
    }

    /** The bot's messages on ws with this plugin action (subscribe, ack, unsubscribe). */
    actions(ws, name) {
        return ws.sent.filter((m) => m.action === PREFIX + name).map((m) => m.data);
    }

    /** Every ack sent on any socket so far, and over REST. */
    acks() {
        return [
            ...this.allSent().filter((m) => m.action === PREFIX + 'ack').map((m) => m.data),
            ...this.requests.filter((r) => r.path === `${API_PATH}/ack`).map((r) => r.body),
        ];
    }

    allSent() {
        return (this.closedSent ?? []).concat(...this.sockets.map((s) => s.sent));
    }
}

let counter = 0;
const ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769'; // Mattermost's id alphabet

/** A fresh event id, as the plugin makes them. */
export function eventId() {
    counter++;
    let id = '';
    for (let n = counter; id.length < 26; n = Math.floor(n / 32)) {
        id = ALPHABET[n % 32] + id;
    }
    return id;
}

/** An action event's data, as the plugin sends it to a subscribed bot. */
export function actionEvent(context, {id = eventId(), attempt = 1, delivery = true, selected} = {}) {
    return {
        user_id: 'alicealicealicealicealice1', user_name: 'alice',
        channel_id: 'chanchanchanchanchanchan01', channel_name: 'town-square',
        team_id: 'teamteamteamteamteamteam01', team_domain: 'acme',
        post_id: 'postpostpostpostpostpost01', trigger_id: 'dHJpZ2dlcg==',
        type: selected === undefined ? 'button' : 'select', data_source: '',
        context: {user_id: BOT_ID, ...context, ...(selected !== undefined && {selected_option: selected})},
        proxy: {
            event_id: id, received_at: 1700000000123, verified: true, version: '1.0.0',
            ...(delivery && {delivery: {attempt, ack: 'required', answer_within_ms: 2500, first_sent_at: 1700000000123}}),
        },
    };
}

/** A command event's data. */
export function commandEvent(trigger, text, {id = eventId()} = {}) {
    return {
        command: `/${trigger} ${text}`.trim(), trigger, text,
        user_id: 'alicealicealicealicealice1', user_name: 'alice',
        channel_id: 'chanchanchanchanchanchan01', team_id: 'teamteamteamteamteamteam01', root_id: '',
        trigger_id: 'dHJpZ2dlcg==',
        proxy: {event_id: id, received_at: 1700000000123, verified: true, version: '1.0.0',
            delivery: {attempt: 1, ack: 'required', answer_within_ms: 2500, first_sent_at: 1700000000123}},
    };
}

/** A dialog submission's data (or a refresh's). */
export function submissionEvent(callbackId, submission, {id = eventId(), cancelled = false} = {}) {
    return {
        callback_id: callbackId, state: 'st', submission,
        user_id: 'alicealicealicealicealice1', user_name: 'alice',
        channel_id: 'chanchanchanchanchanchan01', team_id: 'teamteamteamteamteamteam01', cancelled,
        proxy: {event_id: id, received_at: 1700000000123, verified: true, version: '1.0.0',
            delivery: {attempt: 1, ack: 'required', answer_within_ms: 2500, first_sent_at: 1700000000123}},
    };
}

/** A lookup's data. */
export function lookupEvent(callbackId, field, query, {id = eventId()} = {}) {
    return {
        callback_id: callbackId, state: 'st', selected_field: field, query, submission: {},
        user_id: 'alicealicealicealicealice1', channel_id: 'chanchanchanchanchanchan01', team_id: 'teamteamteamteamteamteam01',
        proxy: {event_id: id, received_at: 1700000000123, verified: true, version: '1.0.0',
            delivery: {attempt: 1, ack: 'required', answer_within_ms: 2500, first_sent_at: 1700000000123}},
    };
}
