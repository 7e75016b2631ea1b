// A handler's return value → the acknowledgement's answer.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {toAnswer} from '../src/answers.js';
import {HANDLER_PATH} from '../src/protocol.js';
import {assertValid} from './schemas.js';

const BOT = 'bot1bot1bot1bot1bot1bot1b1';
const answer = (kind, value) => {
    const a = toAnswer(kind, value, BOT);
    assertValid('ack', {event_id: 'yye1rc4rkiu8xnr3ik7h3zxq9h', ...(a && {answer: a})});
    return a;
};

test('nothing is no answer', () => {
    assert.equal(answer('action', undefined), undefined);
    assert.equal(answer('command', null), undefined);
});

test('shorthands: a string for a click or a command, a list for a lookup, a dialog for the next form', () => {
    assert.deepEqual(answer('action', 'Thanks.'), {ephemeral_text: 'Thanks.'});
    assert.deepEqual(answer('command', 'Waiting.'), {text: 'Waiting.'});
    assert.deepEqual(answer('dialog_lookup', ['carol', {text: 'Dave', value: 'dave'}]),
        {items: [{text: 'carol', value: 'carol'}, {text: 'Dave', value: 'dave'}]});
    const form = {callback_id: 'step2', title: 'Step 2', elements: [{name: 'a', display_name: 'A', type: 'text'}]};
    assert.deepEqual(answer('dialog_submission', form), {type: 'form', form});
    assert.deepEqual(answer('dialog_refresh', form), {type: 'form', form});
});

test('full answers pass as they are', () => {
    for (const [kind, value] of [
        ['action', {update: {message: 'Done'}, ephemeral_text: 'x'}],
        ['dialog_submission', {errors: {reason: 'No.'}}],
        ['dialog_submission', {}],
        ['dialog_lookup', {items: []}],
        ['command', {response_type: 'in_channel', text: 'Hi'}],
    ]) {
        assert.deepEqual(answer(kind, value), value);
    }
});

test('buttons in an answer are pointed at the plugin and name the bot', () => {
    const update = answer('action', {update: {message: 'Again?', props: {attachments: [{actions: [{id: 'again', name: 'Again'}]}]}}});
    assert.deepEqual(update.update.props.attachments[0].actions[0].integration,
        {url: HANDLER_PATH, context: {user_id: BOT, action_id: 'again'}});
    const command = answer('command', {text: 'Pick', attachments: [{actions: [{id: 'pick', name: 'Pick', integration: {context: {n: 1}}}]}]});
    assert.deepEqual(command.attachments[0].actions[0].integration, {url: HANDLER_PATH, context: {n: 1, user_id: BOT, action_id: 'pick'}});
});

test('what is no answer for its kind is refused', () => {
    assert.throws(() => toAnswer('dialog_submission', 'text', BOT), /no answer to a dialog_submission/);
    assert.throws(() => toAnswer('action', 7, BOT), TypeError);
    assert.throws(() => toAnswer('action', ['a'], BOT), TypeError);
});
