// @ts-check
// Which handler an event goes to.

/**
 * @typedef {(data: any) => boolean} Matcher
 * @typedef {{kind: string, matches: Matcher, handler: Function, what: string}} Route
 */

/**
 * Matches a click by its action's id (`context.action_id`, which the builders and `app.post` put
 * there) or by keys of its context (`{action: 'approve'}` matches a context whose `action` is
 * "approve", whatever else it holds).
 * @param {string | Record<string, unknown>} by
 * @returns {Matcher}
 */
export function matchAction(by) {
    if (typeof by === 'string') {
        return (data) => data?.context?.action_id === by;
    }
    if (by && typeof by === 'object' && !Array.isArray(by) && Object.keys(by).length > 0) {
        const wanted = Object.entries(by);
        return (data) => {
            const context = data?.context;
            return !!context && wanted.every(([key, value]) => context[key] === value);
        };
    }
    throw new TypeError(`match an action by its id (a string) or by context keys (an object), not ${JSON.stringify(by)}`);
}

/** @param {unknown} name @param {string} what */
function checkName(name, what) {
    if (typeof name !== 'string' || name === '') {
        throw new TypeError(`${what} must be a non-empty string, not ${JSON.stringify(name)}`);
    }
    return name;
}

/**
 * A slash command's trigger as Mattermost matches it: without the slash, lowercase.
 * @param {string} trigger
 */
export function normalizeTrigger(trigger) {
    return checkName(trigger, 'a command trigger').replace(/^\//, '').toLowerCase();
}

/** The handlers of an app, tried in the order they were added: the first that matches handles the event. */
export class Routes {
    constructor() {
        /** @type {Route[]} */
        this.list = [];
        /** @type {Function | undefined} */
        this.fallback = undefined;
    }

    /** @param {string | Record<string, unknown>} by @param {Function} handler */
    action(by, handler) {
        this.add('action', matchAction(by), handler, `action ${JSON.stringify(by)}`);
    }

    /** @param {string | Record<string, unknown>} by @param {Function} handler */
    menu(by, handler) {
        const matches = matchAction(by);
        this.add('action', (data) => typeof data?.context?.selected_option === 'string' && matches(data), handler, `menu ${JSON.stringify(by)}`);
    }

    /** @param {string} callbackId @param {Function} handler */
    dialog(callbackId, handler) {
        checkName(callbackId, 'a callback_id');
        this.add('dialog_submission', (data) => data?.callback_id === callbackId, handler, `dialog ${callbackId}`);
    }

    /** @param {string} callbackId @param {string | undefined} field @param {Function} handler */
    lookup(callbackId, field, handler) {
        checkName(callbackId, 'a callback_id');
        if (field !== undefined) {
            checkName(field, 'a field name');
        }
        this.add('dialog_lookup', (data) => data?.callback_id === callbackId && (field === undefined || data?.selected_field === field),
            handler, `lookup ${callbackId}${field === undefined ? '' : ' ' + field}`);
    }

    /** @param {string} callbackId @param {Function} handler */
    refresh(callbackId, handler) {
        checkName(callbackId, 'a callback_id');
        this.add('dialog_refresh', (data) => data?.callback_id === callbackId, handler, `refresh ${callbackId}`);
    }

    /** @param {string} trigger @param {Function} handler */
    command(trigger, handler) {
        const name = normalizeTrigger(trigger);
        this.add('command', (data) => data?.trigger === name, handler, `command ${name}`);
    }

    /** @param {string} kind @param {Matcher} matches @param {Function} handler @param {string} what */
    add(kind, matches, handler, what) {
        if (typeof handler !== 'function') {
            throw new TypeError(`the handler of ${what} must be a function`);
        }
        this.list.push({kind, matches, handler, what});
    }

    /**
     * The handler for an event, or the catch-all, or undefined.
     * @param {string} kind @param {unknown} data
     * @returns {Function | undefined}
     */
    find(kind, data) {
        for (const route of this.list) {
            if (route.kind === kind && route.matches(data)) {
                return route.handler;
            }
        }
        return this.fallback;
    }
}
