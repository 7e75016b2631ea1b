// @ts-check
// The plugin's REST API, called with the bot's token.

import {API_PATH} from './protocol.js';

/** The plugin refused a request, or could not be reached. */
export class PluginError extends Error {
    /**
     * @param {string} code the plugin's stable error code (`trigger_expired`, `command_taken`, …),
     *   `http_<status>` when the answer was not the plugin's (it is disabled: `http_404`), or
     *   `unreachable` when the server could not be reached
     * @param {string} message
     * @param {number} status the HTTP status, 0 when unreachable
     * @param {unknown} [body] the whole answer (the plugin's has `ephemeral_text` for some errors)
     */
    constructor(code, message, status, body) {
        super(`${code}: ${message}`);
        this.name = 'PluginError';
        this.code = code;
        this.status = status;
        this.body = body;
        /** @type {string | undefined} the slash command whose registration was refused */
        this.trigger = undefined;
    }
}

/**
 * Calls the plugin: resolves to the JSON answer, or rejects with a PluginError. Uses Client4's
 * headers (the bot's token) and the global fetch, as Client4 does; not Client4's own helpers,
 * which read only Mattermost's error shape and would lose the plugin's error code.
 * @param {import('@mattermost/client').Client4} client
 * @param {string} method
 * @param {string} path below /plugins/<id>/api/v1, e.g. "/dialogs/open"
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function callPlugin(client, method, path, body) {
    const url = client.getUrl() + API_PATH + path;
    let response;
    try {
        response = await fetch(url, client.getOptions({method, ...(body !== undefined && {body: JSON.stringify(body)})}));
    } catch (err) {
        throw new PluginError('unreachable', `${method} ${url}: ${err instanceof Error ? err.message : err}`, 0);
    }
    const text = await response.text();
    let answer;
    try {
        answer = text === '' ? {} : JSON.parse(text);
    } catch {
        answer = undefined; // not the plugin's answer (a proxy's page, Mattermost's 404 while the plugin is disabled)
    }
    if (response.ok && answer !== undefined) {
        return answer;
    }
    const error = answer?.error;
    if (error && typeof error.code === 'string') {
        throw new PluginError(error.code, String(error.message ?? ''), response.status, answer);
    }
    const hint = response.status === 404 ? ' (is the plugin installed and enabled?)' : '';
    throw new PluginError(`http_${response.status}`, `${method} ${url}: ${response.status} ${response.statusText}${hint}`,
        response.status, answer ?? text);
}
