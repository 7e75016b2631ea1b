// The App against a stand-in server (test/fake-mattermost.js): connecting, subscribing on every
// hello and resubscribe, acknowledging, reconnecting, the REST fallback, a clean stop, and the
// helpers' requests.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {App, PluginError, button, menu} from '../index.js';
import {API_PATH, HANDLER_PATH, PREFIX} from '../src/protocol.js';
import {BOT_ID, FakeMattermost, TOKEN, actionEvent, commandEvent, until} from './fake-mattermost.js';
import {assertValid} from './schemas.js';

const quiet = {debug() {}, info() {}, warn() {}, error() {}};

/** A server and an app on it, both stopped when the test ends. */
async function rig(t, options = {}) {
    const server = await new FakeMattermost().start();
    const app = new App({url: server.url, token: TOKEN, logger: quiet, backoff: {initialMs: 5, maxMs: 20}, ...options});
    t.after(async () => {
        await app.stop();
        await server.stop();
    });
    return {server, app};
}

/** Sends a plugin event on the server's newest socket, checked against its schema first. */
function deliver(server, kind, data) {
    assertValid(kind, data);
    server.plugin(server.socket, kind, data);
}

test('start() checks the token, registers the commands, subscribes on hello with the expansions, and resolves once subscribed', async (t) => {
    const {server, app} = await rig(t, {expand: {acting_user: 'summary', locale: true}});
    app.command('Release', {description: 'Release things', hint: '[status]', displayName: 'Release'}, () => 'ok');
    const subscribed = await app.start();
    assertValid('subscribed', subscribed);
    assert.equal(app.botUserId, BOT_ID);
    const paths = server.requests.map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(paths, ['GET /api/v4/users/me', `POST ${API_PATH}/commands`]);
    assert.deepEqual(server.requests[1].body, {trigger: 'release', display_name: 'Release', description: 'Release things', hint: '[status]'});
    assert.equal(server.requests[1].auth, `BEARER ${TOKEN}`);
    const ws = server.socket;
    assert.deepEqual(server.actions(ws, 'subscribe'), [{protocol: 1, expand: {acting_user: 'summary', locale: true}}]);
    // The token went in the challenge, not in the upgrade: every socket is a new connection with its hello.
    assert.equal(ws.upgradeAuth, undefined);
    assert.equal(ws.sent[0].action, 'authentication_challenge');
    // The browser stand-in `window` is not left behind for other packages to mistake Node for a browser.
    assert.equal(globalThis.window, undefined);
});

test('events reach their handlers and are acknowledged on the websocket with the answers; a pong follows every message', async (t) => {
    const {server, app} = await rig(t);
    const seen = [];
    app.action('reject', (event) => ({update: {message: `Rejected by @${event.user_name}`}, ephemeral_text: 'Rejected.'}));
    app.menu('region', (event, {value}) => `Deploying to ${value}.`);
    app.command('release', (event) => ({response_type: 'in_channel', text: `Releasing ${event.text}`}));
    app.onWebSocketEvent((message) => seen.push(message.event));
    app.onWebSocketEvent(async () => { throw new Error('a listener\'s own bug'); }); // logged, the loop goes on
    await app.start();
    const reject = actionEvent({action_id: 'reject'});
    const region = actionEvent({action_id: 'region'}, {selected: 'eu'});
    const command = commandEvent('release', '1.4.3');
    deliver(server, 'action', reject);
    deliver(server, 'action', region);
    deliver(server, 'command', command);
    server.event(server.socket, 'typing', {}); // Mattermost's own: to the listener only
    const acks = await until(() => server.acks().length === 3 && server.acks(), 'three acks');
    acks.forEach((ack) => assertValid('ack', ack));
    assert.deepEqual(acks, [
        {event_id: reject.proxy.event_id, answer: {update: {message: 'Rejected by @alice'}, ephemeral_text: 'Rejected.'}},
        {event_id: region.proxy.event_id, answer: {ephemeral_text: 'Deploying to eu.'}},
        {event_id: command.proxy.event_id, answer: {response_type: 'in_channel', text: 'Releasing 1.4.3'}},
    ]);
    await until(() => seen.includes('typing'), 'the typing event');
    assert.ok(seen.includes(PREFIX + 'subscribed'));
    // hello, subscribed, three events and typing: one pong each (and none for the replies to pings).
    await until(() => server.socket.pongs >= 6, 'a pong per event');
});

test('with the Nagle remedy off, no pong is sent', async (t) => {
    const {server, app} = await rig(t, {nagleRemedy: false});
    app.action('a', () => 'x');
    await app.start();
    deliver(server, 'action', actionEvent({action_id: 'a'}));
    await until(() => server.acks().length === 1);
    assert.equal(server.socket.pongs, 0);
});

test('resubscribe (the plugin restarted) subscribes the connection again', async (t) => {
    const {server, app} = await rig(t);
    await app.start();
    server.plugin(server.socket, 'resubscribe', {reason: 'the plugin started'});
    await until(() => server.actions(server.socket, 'subscribe').length === 2, 'a second subscribe');
});

test('a dropped connection is made again (backoff), subscribed again, and its events handled', async (t) => {
    const {server, app} = await rig(t);
    let calls = 0;
    app.action('a', () => `call ${++calls}`);
    await app.start();
    const first = server.socket;
    server.refuse = 2; // the next two attempts fail: the backoff goes on
    first.terminate();
    const second = await until(() => server.socket !== first && server.sockets.length === 1 &&
        server.actions(server.socket, 'subscribe').length === 1 && server.socket, 'a new subscribed connection');
    assert.equal(server.connections, 2);
    assert.equal(server.refuse, 0);
    const event = actionEvent({action_id: 'a'});
    deliver(server, 'action', event);
    await until(() => second.sent.some((m) => m.action === PREFIX + 'ack'), 'the ack on the new connection');
    assert.deepEqual(server.actions(second, 'ack'), [{event_id: event.proxy.event_id, answer: {ephemeral_text: 'call 1'}}]);
});

test('an answer that is ready while the socket is down is acknowledged over REST', async (t) => {
    const {server, app} = await rig(t);
    let release;
    app.action('slow', () => new Promise((resolve) => { release = () => resolve('late but there'); }));
    await app.start();
    const event = actionEvent({action_id: 'slow'});
    deliver(server, 'action', event);
    await until(() => release, 'the handler');
    server.refuse = 1e6;
    server.socket.terminate();
    await until(() => !app.connection.isOpen, 'the app to notice');
    release();
    const rest = await until(() => server.requests.find((r) => r.path === `${API_PATH}/ack`), 'the REST ack');
    assert.deepEqual(rest.body, {event_id: event.proxy.event_id, answer: {ephemeral_text: 'late but there'}});
    assert.equal(rest.auth, `BEARER ${TOKEN}`);
});

test('stop() unsubscribes, lets the handler under way finish and acknowledges it, then closes', async (t) => {
    const {server, app} = await rig(t);
    let release;
    app.action('slow', () => new Promise((resolve) => { release = () => resolve('done'); }));
    await app.start();
    const ws = server.socket;
    const event = actionEvent({action_id: 'slow'});
    deliver(server, 'action', event);
    await until(() => release);
    const stopping = app.stop();
    await until(() => server.actions(ws, 'unsubscribe').length === 1, 'the unsubscribe');
    deliver(server, 'action', actionEvent({action_id: 'slow'})); // after the unsubscribe: not taken
    release();
    await stopping;
    await until(() => ws.readyState === ws.CLOSED, 'the socket closed');
    assert.deepEqual(server.actions(ws, 'ack'), [{event_id: event.proxy.event_id, answer: {ephemeral_text: 'done'}}]);
    assert.equal(server.connections, 1); // and no reconnection
});

test('a server that cannot be reached yet is tried again until it answers', async (t) => {
    const {server, app} = await rig(t);
    server.dropRest = 2;
    await app.start();
    assert.equal(app.botUserId, BOT_ID);
    assert.equal(server.dropRest, 0);
});

test('a refused token or subscription stops start() with the reason; a refused command is reported, and the bot runs', async (t) => {
    const server = await new FakeMattermost().start();
    t.after(() => server.stop());
    const bad = new App({url: server.url, token: 'wrong', logger: quiet});
    await assert.rejects(bad.start(), /refused the token \(401\)/);

    server.route(`POST ${API_PATH}/commands`, (body) => (body.trigger === 'release' ?
        [409, {error: {code: 'command_taken', message: 'otherbot has /release'}}] : [200, {command: body}]));
    const taken = new App({url: server.url, token: TOKEN, logger: quiet}).command('release', () => 'x').command('deploy', () => 'y');
    t.after(() => taken.stop());
    await taken.start();
    const {error} = taken.commands.get('release');
    assert.ok(error instanceof PluginError && error.code === 'command_taken' && error.status === 409 && error.trigger === 'release');
    assert.deepEqual(taken.commands.get('deploy'), {command: {trigger: 'deploy'}});
    await taken.stop();

    server.autoSubscribe = false;
    const refused = new App({url: server.url, token: TOKEN, logger: quiet, expand: {nonsense: 'all'}});
    const starting = refused.start();
    const ws = await until(() => server.sockets.find((s) => server.actions(s, 'subscribe').some((d) => d.expand?.nonsense)));
    server.plugin(ws, 'error', {action: 'subscribe', seq: 2, error: {code: 'bad_message', message: 'unknown expansion nonsense'}});
    await assert.rejects(starting, (err) => err instanceof PluginError && err.code === 'bad_message');
});

test('stop() waits for a handler at most stopTimeoutMs, then closes', async (t) => {
    const {server, app} = await rig(t, {stopTimeoutMs: 50});
    let started = false;
    app.action('forever', () => { started = true; return new Promise(() => {}); });
    await app.start();
    const ws = server.socket;
    deliver(server, 'action', actionEvent({action_id: 'forever'}));
    await until(() => started);
    await app.stop();
    await until(() => ws.readyState === ws.CLOSED, 'the socket closed');
    assert.deepEqual(server.actions(ws, 'ack'), []); // not acknowledged: the plugin sends it again later
});

test('the helpers: dialogs with the trigger (and its token when there is one), ephemeral and posted buttons that reach the bot, lint, commands', async (t) => {
    const {server, app} = await rig(t);
    const answers = {
        [`POST ${API_PATH}/dialogs/open`]: [200, {session_id: 'sess', expires_at: 1}],
        [`POST ${API_PATH}/ephemeral`]: [200, {post_id: 'eph'}],
        [`POST ${API_PATH}/lint`]: [200, {findings: [], previews: []}],
        [`GET ${API_PATH}/commands`]: [200, {commands: [{trigger: 'release'}]}],
    };
    for (const [key, answer] of Object.entries(answers)) {
        server.route(key, () => answer);
    }
    await app.start();
    const click = actionEvent({action_id: 'a'});
    const dialog = {callback_id: 'd', title: 'D', elements: []};
    assert.deepEqual(await app.openDialog(click, dialog), {session_id: 'sess', expires_at: 1});
    await app.openDialog({...click, proxy: {...click.proxy, trigger_token: 'tok'}}, dialog);
    const opened = server.requests.filter((r) => r.path === `${API_PATH}/dialogs/open`).map((r) => r.body);
    assert.deepEqual(opened, [{trigger_id: click.trigger_id, dialog}, {trigger_id: click.trigger_id, dialog, trigger_token: 'tok'}]);

    const post = await app.post('chanchanchanchanchanchan01', 'Ready?', {actions: [
        button('approve', 'Approve', {style: 'primary', context: {release: '1.4.2'}}),
        menu('region', 'Region', [{text: 'Europe', value: 'eu'}]),
    ]});
    const sent = server.requests.find((r) => r.path === '/api/v4/posts').body;
    assert.equal(post.id, 'postpostpostpostpostpost01');
    assert.deepEqual(sent.props.attachments[0].actions.map((a) => a.integration), [
        {url: HANDLER_PATH, context: {release: '1.4.2', action_id: 'approve', user_id: BOT_ID}},
        {url: HANDLER_PATH, context: {action_id: 'region', user_id: BOT_ID}},
    ]);

    assert.deepEqual(await app.sendEphemeral('alicealicealicealicealice1', 'chanchanchanchanchanchan01', 'Sure?',
        {attachments: [{actions: [button('yes', 'Yes')]}], rootId: 'rootrootrootrootrootroot01'}), {post_id: 'eph'});
    const ephemeral = server.requests.find((r) => r.path === `${API_PATH}/ephemeral`).body;
    assert.deepEqual(ephemeral.props.attachments[0].actions[0].integration.context, {action_id: 'yes', user_id: BOT_ID});
    assert.equal(ephemeral.root_id, 'rootrootrootrootrootroot01');

    assert.deepEqual(await app.lint({message: 'x', props: {attachments: [{actions: [button('b', 'B')]}]}}), {findings: [], previews: []});
    const linted = server.requests.find((r) => r.path === `${API_PATH}/lint`).body;
    assert.equal(linted.post.user_id, BOT_ID);
    assert.equal(linted.post.props.attachments[0].actions[0].integration.context.user_id, BOT_ID);

    assert.deepEqual(await app.listCommands(), [{trigger: 'release'}]);
    await app.removeCommand('/Release');
    assert.ok(server.requests.some((r) => r.method === 'DELETE' && r.path === `${API_PATH}/commands/release`));

    server.route(`POST ${API_PATH}/dialogs/open`, () => [410, {error: {code: 'trigger_expired', message: 'expired'}, ephemeral_text: 'x'}]);
    await assert.rejects(app.openDialog(click, dialog), (err) => err instanceof PluginError && err.code === 'trigger_expired' && err.status === 410);
    server.routes.delete(`GET ${API_PATH}/commands`);
    await assert.rejects(app.listCommands(), (err) => err.code === 'http_404' && /enabled/.test(err.message));
    assert.throws(() => button('approve_1', 'No'), /letters and digits/);
});

test('stop() while the server cannot be reached: start() rejects, and nothing tries again', async (t) => {
    const {server, app} = await rig(t);
    server.refuse = 1e6;
    const starting = app.start();
    await until(() => server.refuse < 1e6 - 1, 'two refused attempts');
    await app.stop();
    await assert.rejects(starting, /stopped before it subscribed/);
    server.refuse = 0;
    await new Promise((resolve) => setTimeout(resolve, 100)); // longer than any backoff of this rig
    assert.equal(server.authenticated, 0);
});

test('run() stopped (SIGINT) while the server cannot be reached yet resolves at once: no error, no attempt after', async (t) => {
    // A long backoff: without a stop that ends the wait, run() would still be waiting (or reject
    // with the failed GET /api/v4/users/me once it tried again).
    const {server, app} = await rig(t, {backoff: {initialMs: 60000, maxMs: 60000}});
    server.dropRest = 1e6;
    const sigints = process.listenerCount('SIGINT');
    const running = app.run();
    await until(() => server.dropRest < 1e6, 'a first attempt at GET /api/v4/users/me');
    await until(() => process.listenerCount('SIGINT') > sigints, 'run() listening for SIGINT');
    const attempts = 1e6 - server.dropRest;
    process.emit('SIGINT', 'SIGINT');
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    const late = new Promise((resolve) => { timer = setTimeout(() => resolve('still running'), 2000); });
    const outcome = await Promise.race([running.then(() => 'resolved', (err) => err), late]);
    clearTimeout(timer);
    assert.equal(outcome, 'resolved');
    assert.equal(process.listenerCount('SIGINT'), sigints);
    assert.equal(1e6 - server.dropRest, attempts);
    assert.equal(app.me, undefined);
    assert.equal(server.connections, 0);
});

test('run() stopped while the websocket cannot be reached yet resolves; a refused subscription still rejects it', async (t) => {
    const {server, app} = await rig(t);
    server.refuse = 1e6;
    const running = app.run();
    await until(() => server.refuse < 1e6 - 1, 'two refused attempts');
    await app.stop();
    await running;
    assert.equal(server.authenticated, 0);

    server.refuse = 0;
    server.autoSubscribe = false;
    const refused = new App({url: server.url, token: TOKEN, logger: quiet, expand: {nonsense: 'all'}});
    const runningRefused = refused.run();
    const ws = await until(() => server.sockets.find((s) => server.actions(s, 'subscribe').some((d) => d.expand?.nonsense)));
    server.plugin(ws, 'error', {action: 'subscribe', seq: 2, error: {code: 'bad_message', message: 'unknown expansion nonsense'}});
    await assert.rejects(runningRefused, (err) => err instanceof PluginError && err.code === 'bad_message');
});
