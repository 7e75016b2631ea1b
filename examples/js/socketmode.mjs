// SocketMode: the plugin's delivery protocol for an @mattermost/client bot. Copy this file.
//
// - It subscribes each connection: on every hello (so again after the client reconnects) and
//   when the plugin asks (resubscribe, after it restarted). From then on each event comes to
//   one connection of the bot, and events made while the bot was away are kept and sent again
//   when it is back.
// - It hands each event to the handler once: an event sent again (same proxy.event_id, e.g. it
//   was being handled when the bot stopped) is acknowledged again but not handled twice.
// - It acknowledges each event with what the handler returned (or resolved to). For a click
//   that is an answer as an HTTP integration gives one (update, ephemeral_text); for a
//   command, a command response (response_type, text); for a dialog submission, the dialog's
//   response ({}, errors, error); for a lookup, items. Within the answer window (2.5 s by
//   default) it is what the person gets. undefined or null acknowledges without an answer.

const PLUGIN_ID = 'mattermost-plugin-interactive-message-actions-to-websocket-proxy';
const PREFIX = `custom_${PLUGIN_ID}_`;
// The plugin's events that the bot answers in their acknowledgement.
const ANSWERED = new Set(['action', 'command', 'dialog_submission', 'dialog_lookup']);

export class SocketMode {
    // ws: a WebSocketClient (before initialize). handler(event, data): event is 'action',
    // 'command', 'dialog_submission' or 'dialog_lookup'; events are handled one at a time, in
    // the order they come.
    // onSubscribed(data), optional: {connection_id, answer_window_ms, kept, expand}, each time a
    // connection's subscription is taken. expand, optional: what every event should carry in
    // proxy.expanded (SPEC §13), e.g. {acting_user: 'summary', post: 'summary', locale: true}.
    constructor(ws, handler, {onSubscribed, expand, remember = 1000} = {}) {
        this.ws = ws;
        this.handler = handler;
        this.onSubscribed = onSubscribed;
        this.expand = expand;
        this.remember = remember;
        this.seen = new Set(); // a Set iterates oldest first
        this.queue = Promise.resolve();
        ws.addMessageListener((message) => {
            this.queue = this.queue.then(() => this.onMessage(message)).catch((err) => {
                console.error(`handling ${message.event}:`, err);
            });
        });
    }

    async onMessage({event, data}) {
        if (event === 'hello' || event === PREFIX + 'resubscribe') {
            this.ws.sendMessage(PREFIX + 'subscribe', {protocol: 1, ...(this.expand && {expand: this.expand})});
            return;
        }
        if (!event?.startsWith(PREFIX)) {
            return; // posted, typing, ...
        }
        const name = event.slice(PREFIX.length);
        if (name === 'subscribed') {
            await this.onSubscribed?.(data);
        } else if (name === 'error') {
            console.error('the plugin refused a message:', JSON.stringify(data));
        }
        if (!ANSWERED.has(name)) {
            return;
        }
        const eventId = data.proxy.event_id;
        let answer;
        if (!this.seen.has(eventId)) {
            this.seen.add(eventId);
            if (this.seen.size > this.remember) {
                this.seen.delete(this.seen.values().next().value);
            }
            answer = await this.handler(name, data);
        }
        // No delivery: the event came before the subscription was taken (or from an older
        // plugin); nobody waits for an answer, and there is nothing to acknowledge.
        if (data.proxy.delivery) {
            this.ws.sendMessage(PREFIX + 'ack', answer == null ? {event_id: eventId} : {event_id: eventId, answer});
        }
    }
}
