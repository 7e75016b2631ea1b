// Socket Mode for Mattermost: a websocket-only bot in JavaScript (Node.js).
//
// The bot posts a message with two buttons and a menu, then hears every click
// on its websocket; it has no HTTP endpoint of its own. "Reject" and a region
// choice edit the message; "Approve" opens a dialog through the plugin, and the
// submitted dialog also arrives on the websocket.
//
//   npm ci
//   MM_URL=http://127.0.0.1:8065 MM_BOT_TOKEN=... MM_CHANNEL_ID=... node bot.mjs
//
// stdout gets one line per thing that happened ("posted <post_id>",
// "click <action> <user> <option or ->", "dialog opened <session_id>",
// "dialog error <code>", "submitted <user> <reason>", "cancelled <user>"),
// besides the lines @mattermost/client itself logs ("websocket connecting
// to ..."); our diagnostics go to stderr.

import clientPackage from '@mattermost/client';
import WebSocket from 'ws';

// @mattermost/client is written for browsers. Its WebSocketClient uses the
// globals WebSocket, CloseEvent and window (for online/offline events), which
// Node.js 20 does not have: give it the `ws` package and two small stand-ins.
globalThis.WebSocket ??= WebSocket;
globalThis.CloseEvent ??= class CloseEvent extends Event {
    constructor(type, init = {}) {
        super(type);
        this.code = init.code;
        this.reason = init.reason ?? '';
        this.wasClean = init.wasClean ?? false;
    }
};
globalThis.window ??= new EventTarget();

// The package is CommonJS: take its named exports from the default import.
const {Client4, WebSocketClient} = clientPackage;

const PLUGIN_ID = 'mattermost-plugin-interactive-message-actions-to-websocket-proxy';
// Every action of the message points here: Mattermost calls the plugin, and the
// plugin hands the click to the bot as a websocket event.
const HANDLER_URL = `/plugins/${PLUGIN_ID}/api/v1/handler`;
const ACTION_EVENT = `custom_${PLUGIN_ID}_action`;
const DIALOG_EVENT = `custom_${PLUGIN_ID}_dialog_submission`;

const MM_URL = mustEnv('MM_URL').replace(/\/+$/, ''); // e.g. http://127.0.0.1:8065
const BOT_TOKEN = mustEnv('MM_BOT_TOKEN'); // the bot's personal access token
const CHANNEL_ID = mustEnv('MM_CHANNEL_ID'); // a channel the bot is a member of

function mustEnv(name) {
    const value = process.env[name];
    if (!value) {
        console.error(`set ${name}`);
        process.exit(2);
    }
    return value;
}

// One result line on stdout.
function say(line) {
    process.stdout.write(line + '\n');
}

const client = new Client4();
client.setUrl(MM_URL);
client.setToken(BOT_TOKEN);

// Posts the message with its actions, as the bot, and returns its id. The
// plugin delivers a click only if the message was posted by the bot named in
// integration.context.user_id: post with the bot's own token.
async function postMessage(botId) {
    // The context is yours, except user_id: the bot that receives the click.
    const integration = (action) => ({url: HANDLER_URL, context: {user_id: botId, action}});
    const post = await client.createPost({
        channel_id: CHANNEL_ID,
        message: 'Release 1.4.2 is ready.',
        props: {attachments: [{
            text: 'Deploy it to production?',
            // Action ids: letters and digits only (Mattermost's click route refuses others).
            actions: [
                {id: 'approve', name: 'Approve', type: 'button', style: 'primary', integration: integration('approve')},
                {id: 'reject', name: 'Reject', type: 'button', style: 'danger', integration: integration('reject')},
                {id: 'region', name: 'Region', type: 'select', integration: integration('region'),
                    options: [{text: 'Europe', value: 'eu'}, {text: 'Americas', value: 'us'}]},
            ],
        }]},
    });
    return post.id;
}

// Changes the post's text. A patch leaves the other fields, buttons included,
// as they are.
async function setMessage(postId, message) {
    await client.patchPost({id: postId, message});
}

// Opens the approval dialog through the plugin (not through
// /api/v4/actions/dialogs/open). The plugin gives the dialog a submission URL
// of its own, checks the fields (here: the reason's length) inside the dialog,
// and sends a valid submission to this bot as a websocket event. The trigger
// id expires within seconds of the click: open the dialog right away.
async function openDialog(triggerId, postId) {
    // A plain fetch (with the client's auth headers): Client4's helpers read
    // only Mattermost's own error format, and the plugin's error code is worth keeping.
    const response = await fetch(`${MM_URL}/plugins/${PLUGIN_ID}/api/v1/dialogs/open`, client.getOptions({
        method: 'post',
        body: JSON.stringify({trigger_id: triggerId, dialog: {
            callback_id: 'approve',
            title: 'Approve release',
            notify_on_cancel: true, // also tell the bot when the person cancels
            state: postId, // comes back in the submission event
            elements: [{display_name: 'Reason', name: 'reason', type: 'textarea', min_length: 3, max_length: 200}],
        }}),
    }));
    // {"session_id", "expires_at"}, or {"error": {"code", "message"}}; no JSON
    // at all if the plugin did not answer (e.g. it is disabled).
    const answer = await response.json().catch(() => ({}));
    if (response.ok) {
        say(`dialog opened ${answer.session_id}`);
    } else {
        console.error(`dialog not opened: ${answer.error?.message}`);
        say(`dialog error ${answer.error?.code ?? `http_${response.status}`}`);
    }
}

// Remembers the last event ids, to drop an event delivered twice. The same
// event reaches every websocket connection of the bot; a bot running several
// connections (or replicas sharing a store) handles it once.
const seen = new Set();
function firstTime(eventId) {
    if (seen.has(eventId)) {
        return false;
    }
    seen.add(eventId);
    if (seen.size > 1000) {
        seen.delete(seen.values().next().value); // a Set iterates oldest first
    }
    return true;
}

async function onMessage(message) {
    const {event, data} = message;
    if (event !== ACTION_EVENT && event !== DIALOG_EVENT) {
        return; // hello, posted, typing... : not ours
    }
    if (!firstTime(data.proxy.event_id)) {
        return;
    }
    if (event === ACTION_EVENT) {
        // A click: context is the action's integration.context as posted,
        // plus selected_option for a menu.
        const {action, selected_option: option} = data.context;
        const user = data.user_name;
        say(`click ${action} ${user} ${option || '-'}`);
        if (action === 'reject') {
            await setMessage(data.post_id, `Rejected by @${user}`);
        } else if (action === 'region') {
            await setMessage(data.post_id, `Region: ${option}`);
        } else if (action === 'approve') {
            await openDialog(data.trigger_id, data.post_id);
        }
    } else {
        // A dialog submission, already checked by the plugin against the
        // definition; state is what the bot put in the dialog.
        const user = data.user_name;
        if (data.cancelled) {
            say(`cancelled ${user}`);
        } else {
            const reason = data.submission.reason;
            say(`submitted ${user} ${reason}`);
            await setMessage(data.state, `Approved by @${user}: ${reason}`);
        }
    }
}

const me = await client.getMe(); // GET /api/v4/users/me: checks the token

// Connect the websocket before posting, so that no click can come before the
// bot listens. The client authenticates with the token once connected, and
// reconnects by itself.
const ws = new WebSocketClient();
ws.addMessageListener((message) => {
    onMessage(message).catch((err) => console.error(`handling ${message.event}:`, err));
});
const connected = new Promise((resolve) => ws.addMessageListener(
    function onHello(message) {
        if (message.event === 'hello') {
            ws.removeMessageListener(onHello);
            resolve();
        }
    }));
ws.initialize(client.getWebSocketUrl().replace(/^http/, 'ws'), BOT_TOKEN);
await connected;

say(`posted ${await postMessage(me.id)}`);

process.on('SIGINT', () => {
    ws.close();
    process.exit(0);
});
