// The transport-free part: each event handled once by its event_id, every delivery acknowledged
// (a repeat with the first answer), handler errors contained, early acks, clean closing.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {Dispatcher} from '../src/dispatch.js';
import {Routes} from '../src/routes.js';
import {BOT_ID, actionEvent, commandEvent, until} from './fake-mattermost.js';
import {assertValid} from './schemas.js';

const quiet = {debug() {}, info() {}, warn() {}, error() {}};

function rig({remember = 100} = {}) {
    const routes = new Routes();
    const acks = [];
    const logged = [];
    const logger = {...quiet, warn: (m) => logged.push(['warn', m]), error: (m) => logged.push(['error', m])};
    const dispatcher = new Dispatcher({
        routes, logger, remember, botUserId: () => BOT_ID, context: {app: 'the app'},
        sendAck: async (ack) => {
            assertValid('ack', ack);
            acks.push(ack);
        },
    });
    const receive = (kind, data) => {
        assertValid(kind, data);
        dispatcher.receive(kind, data);
    };
    return {routes, acks, logged, dispatcher, receive};
}

test('a handler runs once per event_id; every delivery is acknowledged, a repeat with the first answer', async () => {
    const {routes, acks, receive} = rig();
    let calls = 0;
    routes.action('approve', (event) => {
        calls++;
        return {ephemeral_text: `call ${calls} for ${event.user_name}`};
    });
    const first = actionEvent({action_id: 'approve'});
    receive('action', first);
    await until(() => acks.length === 1, 'the first ack');
    const again = structuredClone(first);
    again.proxy.delivery.attempt = 2;
    receive('action', again);
    await until(() => acks.length === 2, 'the repeat\'s ack');
    assert.equal(calls, 1);
    assert.deepEqual(acks, [
        {event_id: first.proxy.event_id, answer: {ephemeral_text: 'call 1 for alice'}},
        {event_id: first.proxy.event_id, answer: {ephemeral_text: 'call 1 for alice'}},
    ]);
});

test('a repeat that comes while the handler still runs waits for the same answer', async () => {
    const {routes, acks, receive} = rig();
    let release;
    let calls = 0;
    routes.command('release', async () => {
        calls++;
        await new Promise((resolve) => { release = resolve; });
        return 'done';
    });
    const event = commandEvent('release', 'now');
    receive('command', event);
    receive('command', event);
    await until(() => release, 'the handler to start');
    assert.equal(acks.length, 0);
    release();
    await until(() => acks.length === 2, 'two acks');
    assert.equal(calls, 1);
    assert.deepEqual(acks[0], {event_id: event.proxy.event_id, answer: {text: 'done'}});
    assert.deepEqual(acks[1], acks[0]);
});

test('an event without proxy.delivery (before the subscription) is handled but not acknowledged', async () => {
    const {routes, acks, receive, dispatcher} = rig();
    let handled = 0;
    routes.action('approve', () => { handled++; return 'x'; });
    receive('action', actionEvent({action_id: 'approve'}, {delivery: false}));
    await dispatcher.close();
    assert.equal(handled, 1);
    assert.deepEqual(acks, []);
});

test('a handler that throws is logged and its event acknowledged without an answer; the next event is handled', async () => {
    const {routes, acks, logged, receive} = rig();
    routes.action('boom', () => { throw new Error('kaput'); });
    routes.action('fine', () => 'ok');
    const bad = actionEvent({action_id: 'boom'});
    receive('action', bad);
    receive('action', actionEvent({action_id: 'fine'}));
    await until(() => acks.length === 2, 'both acks');
    assert.deepEqual(acks.find((a) => a.event_id === bad.proxy.event_id), {event_id: bad.proxy.event_id});
    assert.ok(logged.some(([level, m]) => level === 'error' && m.includes('kaput')), JSON.stringify(logged));
});

test('an answer that is no answer for its kind is logged and acknowledged without one', async () => {
    const {routes, acks, logged, receive} = rig();
    routes.action('n', () => 42);
    const event = actionEvent({action_id: 'n'});
    receive('action', event);
    await until(() => acks.length === 1);
    assert.deepEqual(acks[0], {event_id: event.proxy.event_id});
    assert.ok(logged.some(([level]) => level === 'error'));
});

test('ack() answers at once, before the handler finishes; what it returns after is ignored', async () => {
    const {routes, acks, logged, receive, dispatcher} = rig();
    let finish;
    let finished = false;
    routes.action('approve', async (event, {ack, app}) => {
        assert.equal(app, 'the app');
        ack({ephemeral_text: 'on it'});
        await new Promise((resolve) => { finish = resolve; });
        finished = true;
        return {ephemeral_text: 'too late'};
    });
    const event = actionEvent({action_id: 'approve'});
    receive('action', event);
    await until(() => acks.length === 1, 'the early ack');
    assert.deepEqual(acks[0], {event_id: event.proxy.event_id, answer: {ephemeral_text: 'on it'}});
    const closed = dispatcher.close();
    finish();
    await closed; // close() waits for the handler, not only for its ack
    assert.ok(finished);
    assert.equal(acks.length, 1);
    assert.ok(logged.some(([level, m]) => level === 'warn' && m.includes('ack()')));
});

test('nothing matches: acknowledged without an answer (it would come back forever otherwise)', async () => {
    const {acks, receive, logged} = rig();
    const event = actionEvent({action: 'unknown'});
    receive('action', event);
    await until(() => acks.length === 1);
    assert.deepEqual(acks[0], {event_id: event.proxy.event_id});
    assert.ok(logged.some(([level, m]) => level === 'warn' && m.includes('no handler')));
});

test('the memory is bounded: the oldest event id is forgotten first', async () => {
    const {routes, acks, receive} = rig({remember: 2});
    let calls = 0;
    routes.action('a', () => { calls++; });
    const events = [1, 2, 3].map(() => actionEvent({action_id: 'a'}));
    for (const e of events) {
        receive('action', e);
    }
    receive('action', events[2]); // remembered
    receive('action', events[0]); // forgotten: handled again
    await until(() => acks.length === 5);
    assert.equal(calls, 4);
});

test('close() takes no more events and waits for the handlers under way and their acks', async () => {
    const {routes, acks, receive, dispatcher} = rig();
    let release;
    routes.action('slow', () => new Promise((resolve) => { release = () => resolve('finally'); }));
    const slow = actionEvent({action_id: 'slow'});
    receive('action', slow);
    await until(() => release);
    let closed = false;
    const closing = dispatcher.close().then(() => { closed = true; });
    receive('action', actionEvent({action_id: 'slow'})); // after close: left for the plugin to send again
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, false);
    release();
    await closing;
    assert.deepEqual(acks, [{event_id: slow.proxy.event_id, answer: {ephemeral_text: 'finally'}}]);
});

test('malformed events never crash the loop: no event_id is dropped (logged), odd fields go to the catch-all', async () => {
    const {routes, acks, logged, dispatcher} = rig();
    const handled = [];
    routes.action('approve', () => 'never');
    routes.fallback = (event, {kind}) => { handled.push(kind); };
    for (const data of [{}, {proxy: {}}, {proxy: {event_id: ''}}, null]) {
        dispatcher.receive('action', data);
    }
    assert.equal(logged.filter(([level, m]) => level === 'warn' && m.includes('without proxy.event_id')).length, 4);
    // Not what the plugin sends (it checks every click), but what a bot with verification off may get.
    const odd = actionEvent({});
    odd.context = null;
    dispatcher.receive('action', odd);
    await dispatcher.close();
    assert.deepEqual(handled, ['action']);
    assert.deepEqual(acks, [{event_id: odd.proxy.event_id}]);
});
