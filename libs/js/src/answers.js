// @ts-check
// A handler's return value → the answer its acknowledgement carries.

import {fillAttachments, fillProps} from './actions.js';

/**
 * The answer to acknowledge an event with, from what its handler returned (or passed to `ack`).
 * Shorthands: a string answers a click (`ephemeral_text`) or a command (`text`); a list answers a
 * lookup (`items`, a string item being its own text and value); a dialog definition (an object
 * with `elements`) answers a submission or a refresh with that form next. Buttons in an answer
 * (an update's props, a command's attachments) are filled in to reach the bot, as `app.post` does.
 * The plugin checks every answer; this only shapes it.
 * @param {string} kind the event's kind: action, command, dialog_submission, dialog_refresh, dialog_lookup
 * @param {unknown} value
 * @param {string} botUserId
 * @returns {Record<string, unknown> | undefined} undefined: acknowledge without an answer
 */
export function toAnswer(kind, value, botUserId) {
    if (value === undefined || value === null) {
        return undefined;
    }
    if (typeof value === 'string') {
        if (kind === 'action') {
            return {ephemeral_text: value};
        }
        if (kind === 'command') {
            return {text: value};
        }
    }
    if (Array.isArray(value)) {
        if (kind === 'dialog_lookup') {
            return {items: value.map((item) => (typeof item === 'string' ? {text: item, value: item} : item))};
        }
    } else if (typeof value === 'object') {
        const answer = /** @type {Record<string, any>} */ (value);
        if (kind === 'action' && answer.update && typeof answer.update === 'object' && answer.update.props) {
            return {...answer, update: {...answer.update, props: fillProps(answer.update.props, botUserId)}};
        }
        if (kind === 'command' && Array.isArray(answer.attachments)) {
            return {...answer, attachments: fillAttachments(answer.attachments, botUserId)};
        }
        if ((kind === 'dialog_submission' || kind === 'dialog_refresh') && Array.isArray(answer.elements) && answer.type === undefined) {
            return {type: 'form', form: answer};
        }
        return answer;
    }
    throw new TypeError(`a ${kind} handler returned ${JSON.stringify(value)}, which is no answer to a ${kind} (see the README's answer table)`);
}
