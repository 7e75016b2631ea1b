// @ts-check
// The plugin's names: its id, the prefix of its websocket events and actions, its REST paths.

/** The plugin's id (plugin.json). */
export const PLUGIN_ID = 'mattermost-plugin-interactive-message-actions-to-websocket-proxy';

/** Every websocket event the plugin sends, and every action a bot sends it, starts with this. */
export const PREFIX = `custom_${PLUGIN_ID}_`;

/** Where a button's or menu's `integration.url` points so that its clicks reach the bot. */
export const HANDLER_PATH = `/plugins/${PLUGIN_ID}/api/v1/handler`;

/** The plugin's REST API, below the server's URL. */
export const API_PATH = `/plugins/${PLUGIN_ID}/api/v1`;

/** The delivery protocol this library speaks (SPEC §9.1). */
export const PROTOCOL = 1;

/** The events a bot answers in its acknowledgement, each handed to one handler. */
export const HANDLED = /** @type {const} */ ([
    'action', 'dialog_submission', 'dialog_lookup', 'dialog_refresh', 'command',
]);
