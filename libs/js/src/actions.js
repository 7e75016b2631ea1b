// @ts-check
// Buttons and menus whose clicks reach the bot, and filling in what the plugin needs in them.

import {HANDLER_PATH} from './protocol.js';

// Mattermost finds a clicked action by its id in the click's URL, and accepts only letters and
// digits there: an id like "approve_1" gives the person "Action integration error" and never
// reaches the plugin. Refused when the button is built rather than found out on the first click.
const ACTION_ID = /^[A-Za-z0-9]+$/;

/** @param {string} id */
function checkId(id) {
    if (typeof id !== 'string' || !ACTION_ID.test(id)) {
        throw new TypeError(`action id ${JSON.stringify(id)}: Mattermost accepts only letters and digits`);
    }
}

/**
 * A button whose click reaches the bot's `app.action(id)` handler.
 * @param {string} id letters and digits only
 * @param {string} name the label
 * @param {{style?: string, context?: Record<string, unknown>}} [options]
 */
export function button(id, name, {style, context} = {}) {
    checkId(id);
    return {
        id, name, type: 'button', ...(style && {style}),
        integration: {url: HANDLER_PATH, context: {...context, action_id: id}},
    };
}

/**
 * A menu whose choice reaches the bot's `app.menu(id)` (or `app.action(id)`) handler.
 * @param {string} id letters and digits only
 * @param {string} name the placeholder
 * @param {Array<{text: string, value: string}> | 'users' | 'channels'} options the choices, or
 *   Mattermost's users or channels
 * @param {{context?: Record<string, unknown>, defaultOption?: string}} [more]
 */
export function menu(id, name, options, {context, defaultOption} = {}) {
    checkId(id);
    const source = typeof options === 'string' ? {data_source: options} : {options};
    return {
        id, name, type: 'select', ...source, ...(defaultOption !== undefined && {default_option: defaultOption}),
        integration: {url: HANDLER_PATH, context: {...context, action_id: id}},
    };
}

/**
 * A copy of `attachments` in which every action that points at the plugin (or at nothing yet)
 * names the bot: `integration.url` the plugin's handler, `context.user_id` the bot (the plugin
 * delivers a click only to the bot that posted the message and is named there), and
 * `context.action_id` the action's id (what `app.action(id)` matches). Actions that point
 * elsewhere are left alone.
 * @param {unknown} attachments
 * @param {string} botUserId
 * @returns {any}
 */
export function fillAttachments(attachments, botUserId) {
    if (!Array.isArray(attachments)) {
        return attachments;
    }
    return attachments.map((attachment) => {
        if (!attachment || typeof attachment !== 'object' || !Array.isArray(attachment.actions)) {
            return attachment;
        }
        return {...attachment, actions: attachment.actions.map((/** @type {any} */ action) => {
            if (!action || typeof action !== 'object') {
                return action;
            }
            const integration = action.integration ?? {};
            if (integration.url !== undefined && integration.url !== HANDLER_PATH) {
                return action;
            }
            const context = {...integration.context, user_id: botUserId};
            if (typeof action.id === 'string' && action.id !== '' && context.action_id === undefined) {
                context.action_id = action.id;
            }
            return {...action, integration: {...integration, url: HANDLER_PATH, context}};
        })};
    });
}

/**
 * A copy of a post's props with its attachments' actions filled in (see fillAttachments).
 * @param {unknown} props
 * @param {string} botUserId
 * @returns {any}
 */
export function fillProps(props, botUserId) {
    if (!props || typeof props !== 'object' || !('attachments' in props)) {
        return props;
    }
    return {...props, attachments: fillAttachments(/** @type {any} */ (props).attachments, botUserId)};
}
