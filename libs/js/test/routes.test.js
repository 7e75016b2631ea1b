// Which handler an event reaches.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {Routes} from '../src/routes.js';
import {actionEvent, commandEvent, lookupEvent, submissionEvent} from './fake-mattermost.js';

const named = (name) => Object.assign(() => {}, {label: name});
const found = (routes, kind, data) => routes.find(kind, data)?.label;

test('actions by action id, by context keys, menus only for menu choices, first match wins', () => {
    const routes = new Routes();
    routes.menu('region', named('menu region'));
    routes.action('region', named('action region'));
    routes.action({action: 'approve', release: '1.4.2'}, named('approve 1.4.2'));
    routes.action({action: 'approve'}, named('approve'));
    assert.equal(found(routes, 'action', actionEvent({action_id: 'region'}, {selected: 'eu'})), 'menu region');
    assert.equal(found(routes, 'action', actionEvent({action_id: 'region'})), 'action region');
    assert.equal(found(routes, 'action', actionEvent({action: 'approve', release: '1.4.2'})), 'approve 1.4.2');
    assert.equal(found(routes, 'action', actionEvent({action: 'approve', release: '2.0'})), 'approve');
    assert.equal(found(routes, 'action', actionEvent({action: 'reject'})), undefined);
    routes.fallback = named('catch-all');
    assert.equal(found(routes, 'action', actionEvent({action: 'reject'})), 'catch-all');
});

test('dialogs, lookups (by field or any), refreshes and commands', () => {
    const routes = new Routes();
    routes.lookup('deploy', 'region', named('region lookup'));
    routes.lookup('deploy', undefined, named('any lookup'));
    routes.dialog('deploy', named('deploy'));
    routes.refresh('deploy', named('refresh'));
    routes.command('/Release', named('release'));
    assert.equal(found(routes, 'dialog_lookup', lookupEvent('deploy', 'region', 'e')), 'region lookup');
    assert.equal(found(routes, 'dialog_lookup', lookupEvent('deploy', 'approver', '')), 'any lookup');
    assert.equal(found(routes, 'dialog_submission', submissionEvent('deploy', {}, {cancelled: true})), 'deploy');
    assert.equal(found(routes, 'dialog_refresh', submissionEvent('deploy', {})), 'refresh');
    assert.equal(found(routes, 'dialog_submission', submissionEvent('other', {})), undefined);
    assert.equal(found(routes, 'command', commandEvent('release', '')), 'release');
    assert.equal(found(routes, 'command', commandEvent('deploy', '')), undefined);
});

test('a mistake in a registration is refused at once', () => {
    const routes = new Routes();
    assert.throws(() => routes.action({}, () => {}), /context keys/);
    assert.throws(() => routes.action('x', 'not a function'), /must be a function/);
    assert.throws(() => routes.dialog('', () => {}), /callback_id/);
    assert.throws(() => routes.command('', () => {}), /trigger/);
});
