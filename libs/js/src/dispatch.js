// @ts-check
// One event in, its handler run once, its acknowledgement out: the part of the protocol that
// does not know the transport (the same for a first delivery, a replay, or an event that came
// before the subscription).

import {toAnswer} from './answers.js';
import {Seen} from './seen.js';

/**
 * @typedef {{event_id: string, answer?: Record<string, unknown>}} Ack
 * @typedef {{debug: Function, info: Function, warn: Function, error: Function}} Logger
 * @typedef {{
 *   routes: import('./routes.js').Routes,
 *   sendAck: (ack: Ack) => Promise<void>,
 *   logger: Logger,
 *   remember: number,
 *   botUserId: () => string,
 *   context: object,
 * }} DispatcherOptions
 */

export class Dispatcher {
    /** @param {DispatcherOptions} options */
    constructor({routes, sendAck, logger, remember, botUserId, context}) {
        this.routes = routes;
        this.sendAck = sendAck;
        this.logger = logger;
        this.botUserId = botUserId;
        /** What every handler gets besides its event (the app). */
        this.context = context;
        /** @type {Seen<Promise<Record<string, unknown> | undefined>>} each handled event's answer */
        this.seen = new Seen(remember);
        /** @type {Set<Promise<unknown>>} handlers and acknowledgements not finished yet */
        this.running = new Set();
        this.closed = false;
    }

    /**
     * Takes one event: runs its handler unless its event_id was handled before, and, if it was
     * delivered (proxy.delivery), acknowledges it with the handler's answer, the first one's for a
     * repeat. Nothing is taken once closed: what is not acknowledged, the plugin sends again.
     * @param {string} kind
     * @param {any} data
     */
    receive(kind, data) {
        if (this.closed) {
            return;
        }
        const eventId = data?.proxy?.event_id;
        if (typeof eventId !== 'string' || eventId === '') {
            this.logger.warn(`a ${kind} event without proxy.event_id was dropped`);
            return;
        }
        let answer = this.seen.get(eventId);
        if (answer) {
            this.logger.debug(`event ${eventId} (${kind}) came again (attempt ${data.proxy.delivery?.attempt}): acknowledged with its first answer`);
        } else {
            answer = this.handle(kind, data, eventId);
            this.seen.set(eventId, answer);
        }
        if (data.proxy.delivery) {
            this.track(answer.then((a) => this.sendAck(a === undefined ? {event_id: eventId} : {event_id: eventId, answer: a}))
                .catch((err) => this.logger.error(`acknowledging event ${eventId} failed: ${describe(err)}`)));
        }
    }

    /**
     * Runs the event's handler; resolves to the answer as soon as there is one: when the handler
     * calls ack(), or returns. A handler that throws, or returns what is no answer, is logged and
     * its event acknowledged without an answer.
     * @param {string} kind @param {any} data @param {string} eventId
     * @returns {Promise<Record<string, unknown> | undefined>}
     */
    handle(kind, data, eventId) {
        const handler = this.routes.find(kind, data);
        if (!handler) {
            this.logger.warn(`no handler for ${describeEvent(kind, data)}: acknowledged without an answer`);
            return Promise.resolve(undefined);
        }
        return new Promise((resolve) => {
            let acked = false;
            const started = Date.now();
            const window = data.proxy.delivery?.answer_within_ms;
            /** @param {unknown} value */
            const answerWith = (value) => {
                let answer;
                try {
                    answer = toAnswer(kind, value, this.botUserId());
                } catch (err) {
                    this.logger.error(`event ${eventId}: ${describe(err)}; acknowledged without an answer`);
                }
                if (window > 0 && Date.now() - started > window) {
                    this.logger.warn(`event ${eventId} (${kind}) was answered after the answer window (${window} ms): ` +
                        'the person was told the bot has not answered yet; the plugin applies what it still can');
                }
                resolve(answer);
            };
            const ctx = {
                ...this.context,
                kind,
                value: kind === 'action' ? data.context?.selected_option : undefined,
                /** @param {unknown} [value] */
                ack: (value) => {
                    if (acked) {
                        this.logger.warn(`event ${eventId}: ack() was called again; only the first answer counts`);
                        return;
                    }
                    acked = true;
                    answerWith(value);
                },
            };
            const done = (async () => {
                try {
                    const value = await handler(data, ctx);
                    if (acked) {
                        if (value !== undefined) {
                            this.logger.warn(`event ${eventId}: the handler called ack() and also returned an answer; the answer passed to ack() counts`);
                        }
                    } else {
                        acked = true;
                        answerWith(value);
                    }
                } catch (err) {
                    this.logger.error(`the handler of ${describeEvent(kind, data)} failed: ${describe(err)}`);
                    if (!acked) {
                        acked = true;
                        resolve(undefined);
                    }
                }
            })();
            this.track(done);
        });
    }

    /** @param {Promise<unknown>} promise */
    track(promise) {
        this.running.add(promise);
        promise.finally(() => this.running.delete(promise));
    }

    /** Takes no more events, and resolves once every handler and acknowledgement under way is done. */
    async close() {
        this.closed = true;
        while (this.running.size > 0) {
            await Promise.allSettled([...this.running]);
        }
    }
}

/** @param {unknown} err */
export function describe(err) {
    return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** @param {string} kind @param {any} data */
function describeEvent(kind, data) {
    switch (kind) {
    case 'action':
        return `the click with context ${JSON.stringify(data.context)}`;
    case 'command':
        return `the command /${data.trigger}`;
    case 'dialog_lookup':
        return `the lookup of ${data.callback_id}/${data.selected_field}`;
    default:
        return `the ${kind} of ${data.callback_id}`;
    }
}
