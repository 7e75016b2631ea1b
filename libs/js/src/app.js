// @ts-check
// App: handlers by what happened, and what a bot does next.

import clientPackage from '@mattermost/client';
import {fillProps} from './actions.js';
import {DEFAULT_BACKOFF, backoffDelay} from './backoff.js';
import {Connection} from './connection.js';
import {Dispatcher, describe} from './dispatch.js';
import {makeLogger} from './logger.js';
import {PluginError, callPlugin} from './plugin-api.js';
import {HANDLED, PREFIX, PROTOCOL} from './protocol.js';
import {Routes, normalizeTrigger} from './routes.js';

const {Client4} = clientPackage;

/** How long start() waits for the plugin's first `subscribed` before it says so in the log. */
const SUBSCRIBE_PATIENCE_MS = 10000;

/** How long stop() waits for the handlers under way by default. */
const STOP_TIMEOUT_MS = 10000;

/** @type {ReadonlySet<string>} */
const HANDLED_KINDS = new Set(HANDLED);

/**
 * What start() rejects with when stop() came first (while it checked the token, registered the
 * commands or waited for the subscription): run() takes it as the end it was asked for.
 */
class StoppedWhileStarting extends Error {}

export class App {
    /** @param {import('../index.js').AppOptions} options */
    constructor(options) {
        const {url, token, expand, nagleRemedy = true, remember = 10000, backoff, logger, logLevel,
            stopTimeoutMs = STOP_TIMEOUT_MS} = options ?? {};
        if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
            throw new TypeError(`url must be the server's address, like https://chat.example.com, not ${JSON.stringify(url)}`);
        }
        if (typeof token !== 'string' || token === '') {
            throw new TypeError('token must be the bot\'s access token');
        }
        this.client = new Client4();
        this.client.setUrl(url.replace(/\/+$/, ''));
        this.client.setToken(token);
        this.token = token;
        this.expand = expand;
        this.nagleRemedy = nagleRemedy;
        this.remember = remember;
        this.stopTimeoutMs = stopTimeoutMs;
        this.backoff = {...DEFAULT_BACKOFF, ...backoff};
        this.logger = logger ?? makeLogger(logLevel ?? 'info');
        this.routes = new Routes();
        /** @type {Map<string, Record<string, unknown>>} the slash commands to register: the plugin's request body, by trigger */
        this.commandBodies = new Map();
        /**
         * What became of each command's registration, by trigger: `{command}` (as the plugin keeps
         * it) or `{error}` (a PluginError: `command_taken`, …). A refused command does not stop the bot.
         * @type {Map<string, {command?: any, error?: Error}>}
         */
        this.commands = new Map();
        /** @type {Array<(message: any) => void>} */
        this.socketListeners = [];
        /** @type {import('@mattermost/types/users').UserProfile | undefined} */
        this.me = undefined;
        /** @type {Connection | undefined} */
        this.connection = undefined;
        /** @type {Dispatcher | undefined} */
        this.dispatcher = undefined;
        /** @type {Promise<void> | undefined} */
        this.stopping = undefined;
        /** @type {{resolve: (s: any) => void, reject: (e: Error) => void} | undefined} start() waiting for `subscribed` */
        this.starting = undefined;
        /** @type {NodeJS.Timeout | undefined} */
        this.patience = undefined;
        /** @type {Promise<void>} resolves when the app has stopped */
        this.stopped = new Promise((resolve) => {
            this.markStopped = resolve;
        });
        /** @type {(() => void) | undefined} */
        this.markStopAsked = undefined;
        /** @type {Promise<void>} resolves when stop() is called: start() gives up waiting then */
        this.stopAsked = new Promise((resolve) => {
            this.markStopAsked = resolve;
        });
    }

    // ---- handlers ----

    /** @param {string | Record<string, unknown>} actionId @param {Function} handler */
    action(actionId, handler) {
        this.routes.action(actionId, handler);
        return this;
    }

    /** @param {string | Record<string, unknown>} actionId @param {Function} handler */
    menu(actionId, handler) {
        this.routes.menu(actionId, handler);
        return this;
    }

    /** @param {string} callbackId @param {Function} handler */
    dialog(callbackId, handler) {
        this.routes.dialog(callbackId, handler);
        return this;
    }

    /** @param {string} callbackId @param {string | Function} fieldOrHandler @param {Function} [handler] */
    lookup(callbackId, fieldOrHandler, handler) {
        if (typeof fieldOrHandler === 'function') {
            this.routes.lookup(callbackId, undefined, fieldOrHandler);
        } else {
            this.routes.lookup(callbackId, fieldOrHandler, /** @type {Function} */ (handler));
        }
        return this;
    }

    /** @param {string} callbackId @param {Function} handler */
    refresh(callbackId, handler) {
        this.routes.refresh(callbackId, handler);
        return this;
    }

    /**
     * @param {string} trigger
     * @param {import('../index.js').CommandOptions | Function} optionsOrHandler
     * @param {Function} [handler]
     */
    command(trigger, optionsOrHandler, handler) {
        const options = typeof optionsOrHandler === 'function' ? {} : optionsOrHandler ?? {};
        const run = typeof optionsOrHandler === 'function' ? optionsOrHandler : handler;
        const name = normalizeTrigger(trigger);
        this.routes.command(name, /** @type {Function} */ (run));
        const {description, hint, displayName, autocomplete} = options;
        const body = {
            trigger: name,
            ...(displayName !== undefined && {display_name: displayName}),
            ...(description !== undefined && {description}),
            ...(hint !== undefined && {hint}),
            ...(autocomplete !== undefined && {autocomplete}),
        };
        this.commandBodies.set(name, body);
        if (this.me) { // started: register it now
            void this.registerCommand(body);
        }
        return this;
    }

    /** @param {Function} handler */
    catchAll(handler) {
        if (typeof handler !== 'function') {
            throw new TypeError('the catch-all handler must be a function');
        }
        this.routes.fallback = handler;
        return this;
    }

    /** @param {(message: any) => void} listener */
    onWebSocketEvent(listener) {
        if (typeof listener !== 'function') {
            throw new TypeError('the websocket listener must be a function');
        }
        this.socketListeners.push(listener);
        return this;
    }

    // ---- running ----

    /** The bot's user id (known once start() has checked the token). */
    get botUserId() {
        if (!this.me) {
            throw new Error('the bot\'s user id is known once app.start() has begun (it reads GET /api/v4/users/me)');
        }
        return this.me.id;
    }

    /**
     * Checks the token, registers the slash commands, connects and subscribes; resolves with the
     * first subscription (`SubscribedEvent`), from when every event reaches a handler.
     */
    async start() {
        if (this.me || this.connection) {
            throw new Error('the app was started already');
        }
        this.me = await this.whoAmI();
        for (const body of this.commandBodies.values()) {
            await this.registerCommand(body);
        }
        if (this.stopping) {
            throw new StoppedWhileStarting('the app was stopped while starting');
        }
        this.dispatcher = new Dispatcher({
            routes: this.routes,
            sendAck: (ack) => this.sendAck(ack),
            logger: this.logger,
            remember: this.remember,
            botUserId: () => this.botUserId,
            context: {app: this},
        });
        this.connection = new Connection({
            url: this.client.getWebSocketUrl().replace(/^http/, 'ws'),
            token: this.token,
            nagleRemedy: this.nagleRemedy,
            backoff: this.backoff,
            logger: this.logger,
            onMessage: (message) => this.onMessage(message),
        });
        const subscribed = new Promise((resolve, reject) => {
            this.starting = {resolve, reject};
        });
        this.patience = setTimeout(() => this.logger.warn(
            `no subscription after ${SUBSCRIBE_PATIENCE_MS / 1000} s: is the plugin installed and enabled on ${this.client.getUrl()}? Still trying.`),
        SUBSCRIBE_PATIENCE_MS);
        this.connection.open();
        return subscribed;
    }

    /**
     * The bot's account (`GET /api/v4/users/me`), which checks the token. An unreachable server
     * (a bot started beside it) is tried again with the reconnection backoff; an answer that is
     * not the account (a refused token) is final. stop() ends the attempts at once (the request
     * under way, or the wait before the next one): it rejects with StoppedWhileStarting.
     * @returns {Promise<import('@mattermost/types/users').UserProfile>}
     */
    async whoAmI() {
        const stopAsked = this.stopAsked.then(() => {
            throw new StoppedWhileStarting('the app was stopped while starting');
        });
        stopAsked.catch(() => {}); // only rejected for the races below
        for (let failures = 1; ; failures++) {
            try {
                return await Promise.race([this.client.getMe(), stopAsked]);
            } catch (err) {
                if (err instanceof StoppedWhileStarting) {
                    throw err;
                }
                const status = /** @type {any} */ (err)?.status_code;
                if (status === 401) {
                    throw new Error(`the server refused the token (401): use the bot's access token (${this.client.getUrl()})`);
                }
                if (status) {
                    throw new Error(`GET /api/v4/users/me on ${this.client.getUrl()} failed: ${describe(err)}`);
                }
                const delay = backoffDelay(failures, this.backoff);
                this.logger.warn(`${this.client.getUrl()} cannot be reached (${err instanceof Error ? err.message : err}); trying again in ${Math.round(delay)} ms`);
                /** @type {NodeJS.Timeout | undefined} */
                let timer;
                try {
                    await Promise.race([new Promise((resolve) => { timer = setTimeout(resolve, delay); }), stopAsked]);
                } finally {
                    clearTimeout(timer); // a stop leaves no timer to keep the process alive
                }
            }
        }
    }

    /**
     * start() (unless it was called already), then runs until SIGINT or SIGTERM (or stop()), then
     * stops cleanly; a second signal exits at once. A stop before the bot subscribed (the server
     * not reached yet) ends it as quietly: run() resolves; it rejects only when start() fails
     * otherwise (a refused token or subscription).
     */
    async run() {
        const signals = /** @type {const} */ (['SIGINT', 'SIGTERM']);
        let signalled = false;
        /** @param {string} signal */
        const onSignal = (signal) => {
            if (signalled) {
                this.logger.warn(`${signal} again: exiting without waiting for the handlers`);
                process.exit(1);
            }
            signalled = true;
            this.logger.info(`${signal}: stopping (handlers under way finish and are acknowledged)`);
            this.stop().catch((err) => this.logger.error(`stopping failed: ${describe(err)}`));
        };
        for (const signal of signals) {
            process.on(signal, onSignal);
        }
        try {
            if (!this.me) {
                await this.start();
            }
            await this.stopped;
        } catch (err) {
            if (!(err instanceof StoppedWhileStarting)) {
                throw err;
            }
            await this.stopped; // the stop that was asked for, under way: let it finish
        } finally {
            for (const signal of signals) {
                process.off(signal, onSignal);
            }
        }
    }

    /**
     * Stops cleanly: takes no more events (the connection unsubscribes), lets the handlers under
     * way finish and acknowledges them, then closes the connection. What was not acknowledged the
     * plugin sends again later, to this bot's next connection.
     */
    stop() {
        this.markStopAsked?.();
        this.stopping ??= (async () => {
            clearTimeout(this.patience);
            if (this.connection) {
                this.connection.send(PREFIX + 'unsubscribe', {});
            }
            if (this.dispatcher) {
                /** @type {NodeJS.Timeout | undefined} */
                let timer;
                const late = new Promise((resolve) => {
                    timer = setTimeout(() => resolve('late'), this.stopTimeoutMs);
                });
                if (await Promise.race([this.dispatcher.close(), late]) === 'late') {
                    this.logger.warn(`${this.dispatcher.running.size} handlers or acknowledgements still under way after ` +
                        `${this.stopTimeoutMs} ms: closing (what they answer later goes by REST; what is not acknowledged comes again)`);
                }
                clearTimeout(timer);
            }
            this.connection?.close();
            this.starting?.reject(new StoppedWhileStarting('the app was stopped before it subscribed'));
            this.starting = undefined;
            this.logger.info('stopped');
            this.markStopped?.();
        })();
        return this.stopping;
    }

    /** @param {any} message one websocket message, as received */
    onMessage(message) {
        for (const listener of this.socketListeners) {
            try {
                // An async listener's rejection is logged too (unhandled, it would end the process).
                Promise.resolve(listener(message)).catch((err) => this.logger.error(`a websocket listener failed: ${describe(err)}`));
            } catch (err) {
                this.logger.error(`a websocket listener failed: ${describe(err)}`);
            }
        }
        const event = message?.event;
        if (typeof event !== 'string' || this.stopping) {
            return;
        }
        // Every new connection (hello), and every connection when the plugin (re)starts, subscribes.
        if (event === 'hello' || event === PREFIX + 'resubscribe') {
            this.connection?.send(PREFIX + 'subscribe', {protocol: PROTOCOL, ...(this.expand && {expand: this.expand})});
            return;
        }
        if (!event.startsWith(PREFIX)) {
            return;
        }
        const name = event.slice(PREFIX.length);
        const data = message.data ?? {};
        if (HANDLED_KINDS.has(name)) {
            this.dispatcher?.receive(name, data);
        } else if (name === 'subscribed') {
            this.logger.info(`subscribed: connection ${data.connection_id}, ${data.kept} kept events, answer window ${data.answer_window_ms} ms`);
            clearTimeout(this.patience);
            this.starting?.resolve(data);
            this.starting = undefined;
        } else if (name === 'error') {
            const error = data.error ?? {};
            this.logger.error(`the plugin refused ${data.action}${data.event_id ? ' of event ' + data.event_id : ''}: ${error.code}: ${error.message}`);
            if (data.action === 'subscribe' && this.starting) {
                const refused = this.starting;
                this.starting = undefined;
                this.stop().finally(() => refused.reject(new PluginError(error.code, error.message, 0, data)));
            }
        } else {
            this.logger.debug(`${name}: ${JSON.stringify(data)}`);
        }
    }

    /**
     * Acknowledges on the websocket, or over REST when it is down (the REST ack is the same, and
     * answers what became of it).
     * @param {import('./dispatch.js').Ack} ack
     */
    async sendAck(ack) {
        if (this.connection?.send(PREFIX + 'ack', ack)) {
            return;
        }
        try {
            const result = await callPlugin(this.client, 'POST', '/ack', ack);
            this.logger.debug(`event ${ack.event_id} acknowledged over REST: ${result.status}`);
        } catch (err) {
            // Not lost: an event the plugin has not seen acknowledged comes again, and is
            // acknowledged again with the same answer.
            this.logger.warn(`acknowledging event ${ack.event_id} over REST failed: ${describe(err)}`);
        }
    }

    // ---- what a bot does next ----

    /**
     * Registers a slash command with the plugin and records the outcome in `commands`; a refusal
     * is logged, never thrown: the bot's other handlers work without it.
     * @param {Record<string, unknown>} body
     */
    async registerCommand(body) {
        const trigger = String(body.trigger);
        try {
            const answer = await callPlugin(this.client, 'POST', '/commands', body);
            this.commands.set(trigger, {command: answer.command});
            this.logger.info(`command /${trigger} registered`);
        } catch (err) {
            if (err instanceof PluginError) {
                err.trigger = trigger;
            }
            this.commands.set(trigger, {error: /** @type {Error} */ (err)});
            this.logger.error(`the command /${trigger} was not registered: ${describe(err)}`);
        }
    }

    /** @param {string} trigger */
    async removeCommand(trigger) {
        const name = normalizeTrigger(trigger);
        this.commandBodies.delete(name);
        this.commands.delete(name);
        await callPlugin(this.client, 'DELETE', '/commands/' + encodeURIComponent(name));
    }

    async listCommands() {
        return (await callPlugin(this.client, 'GET', '/commands')).commands ?? [];
    }

    /**
     * @param {{trigger_id?: string, proxy?: {trigger_token?: string}}} event
     * @param {Record<string, unknown>} dialog
     */
    async openDialog(event, dialog) {
        const triggerId = event?.trigger_id;
        if (typeof triggerId !== 'string' || triggerId === '') {
            throw new TypeError('openDialog needs the event of a click or a command (it has a trigger_id)');
        }
        const token = event.proxy?.trigger_token;
        return callPlugin(this.client, 'POST', '/dialogs/open', {
            trigger_id: triggerId, dialog, ...(token !== undefined && {trigger_token: token}),
        });
    }

    /**
     * @param {string} userId @param {string} channelId @param {string} message
     * @param {{props?: Record<string, unknown>, attachments?: unknown[], rootId?: string}} [options]
     */
    async sendEphemeral(userId, channelId, message, {props, attachments, rootId} = {}) {
        return callPlugin(this.client, 'POST', '/ephemeral', {
            user_id: userId, channel_id: channelId, message,
            ...this.propsWith(props, attachments),
            ...(rootId !== undefined && {root_id: rootId}),
        });
    }

    /**
     * @param {string} channelId @param {string} message
     * @param {{actions?: unknown[], attachments?: unknown[], props?: Record<string, unknown>, rootId?: string}} [options]
     */
    async post(channelId, message, {actions, attachments, props, rootId} = {}) {
        const all = actions ? [...(attachments ?? []), {actions}] : attachments;
        return this.client.createPost(/** @type {any} */ ({
            channel_id: channelId, message, ...this.propsWith(props, all),
            ...(rootId !== undefined && {root_id: rootId}),
        }));
    }

    /** @param {Record<string, any>} post */
    async lint(post) {
        const author = post.user_id ?? this.botUserId;
        return callPlugin(this.client, 'POST', '/lint', {post: {...post, user_id: author, props: fillProps(post.props, author)}});
    }

    /**
     * `{props}` with the attachments merged in and every action filled in, or nothing.
     * @param {Record<string, unknown> | undefined} props @param {unknown[] | undefined} attachments
     */
    propsWith(props, attachments) {
        if (props === undefined && attachments === undefined) {
            return {};
        }
        const merged = attachments === undefined ? props : {...props, attachments};
        return {props: fillProps(merged, this.botUserId)};
    }
}
