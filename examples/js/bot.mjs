// Socket Mode for Mattermost: a websocket-only bot in JavaScript (Node.js).
//
// The bot posts a message with two buttons and a menu, then hears every click
// on its websocket; it has no HTTP endpoint of its own. It subscribes to the
// plugin's delivery protocol (socketmode.mjs), so that no click is lost while
// it restarts, and answers "Reject" and a region choice the way an HTTP
// integration would: the answer updates the message and shows the clicker a
// line of text. "Approve" opens a dialog through the plugin; the dialog's
// approver menu (a dynamic select), and the submitted dialog, also arrive on
// the websocket, and the bot answers them (the menu's items; the submission's
// errors, or {} to close it). It registers a slash command (/release) and
// answers it too.
//
//   npm ci
//   MM_URL=http://127.0.0.1:8065 MM_BOT_TOKEN=... MM_CHANNEL_ID=... node bot.mjs
//
// stdout gets one line per thing that happened ("posted <post_id>",
// "command registered <trigger>", "command error <code>",
// "click <action> <user> <option or ->", "dialog opened <session_id>",
// "dialog error <code>", "lookup <field> <query or ->",
// "submitted <user> <reason>", "refused <user> <reason>", "cancelled <user>",
// "command <user> <text>"), besides the lines @mattermost/client itself logs
// ("websocket connecting to ..."); our diagnostics go to stderr.

import clientPackage from '@mattermost/client';
import WebSocket from 'ws';
import {SocketMode} from './socketmode.mjs';

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

const MM_URL = mustEnv('MM_URL').replace(/\/+$/, ''); // e.g. http://127.0.0.1:8065
const BOT_TOKEN = mustEnv('MM_BOT_TOKEN'); // the bot's personal access token
const CHANNEL_ID = mustEnv('MM_CHANNEL_ID'); // a channel the bot is a member of
const COMMAND = process.env.MM_COMMAND || 'release'; // the slash command's trigger
// The approver menu's choices (value, and text = capitalized).
const APPROVERS = ['alice', 'bob', 'carol', 'dave'];

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

// POSTs body to the plugin's API with the bot's token; resolves to {answer}, or
// {error: {code, message}}. A plain fetch (with the client's auth headers):
// Client4's helpers read only Mattermost's own error format, and the plugin's
// error code is worth keeping.
async function pluginPost(path, body) {
    let response;
    try {
        response = await fetch(`${MM_URL}/plugins/${PLUGIN_ID}/api/v1/${path}`,
            client.getOptions({method: 'post', body: JSON.stringify(body)}));
    } catch (err) {
        return {error: {code: 'unreachable', message: String(err)}};
    }
    // No JSON at all if the plugin did not answer (e.g. it is disabled).
    const answer = await response.json().catch(() => ({}));
    if (response.ok) {
        return {answer};
    }
    return {error: answer.error ?? {code: `http_${response.status}`, message: response.statusText}};
}

// Registers the slash command /COMMAND for this bot (again: an update).
// Mattermost then sends it to the plugin, and the plugin to this bot as a
// websocket event; the bot's answer is the command's response.
async function registerCommand() {
    const {answer, error} = await pluginPost('commands', {
        trigger: COMMAND,
        display_name: 'Release',
        description: 'Release 1.4.2: status or approve',
        hint: '[status|<version>]',
    });
    if (error) { // e.g. command_taken: another bot, or Mattermost, has it
        console.error(`command not registered: ${error.message}`);
        say(`command error ${error.code}`);
    } else {
        say(`command registered ${answer.command.trigger}`);
    }
}

// Opens the approval dialog through the plugin (not through
// /api/v4/actions/dialogs/open). The plugin gives the dialog a submission URL
// of its own, checks the fields (here: the reason's length) inside the dialog,
// and sends a valid submission to this bot as a websocket event. A dynamic
// select without a data_source_url (the approver) gets the plugin's too: what
// the person types in it comes to the bot as a dialog_lookup event. The
// trigger id expires within seconds of the click: open the dialog right away.
async function openDialog(triggerId, postId) {
    const {answer, error} = await pluginPost('dialogs/open', {trigger_id: triggerId, dialog: {
        callback_id: 'approve',
        title: 'Approve release',
        notify_on_cancel: true, // also tell the bot when the person cancels
        state: postId, // comes back in the submission event
        elements: [
            {display_name: 'Reason', name: 'reason', type: 'textarea', min_length: 3, max_length: 200},
            {display_name: 'Approver', name: 'approver', type: 'select', data_source: 'dynamic', optional: true},
        ],
    }});
    if (error) { // {"code": "trigger_expired", ...}
        console.error(`dialog not opened: ${error.message}`);
        say(`dialog error ${error.code}`);
    } else {
        say(`dialog opened ${answer.session_id}`);
    }
}

// One event, handled once; returns the answer to acknowledge it with.
// The release a message like "Release 1.4.2 is ready." is about.
function releaseOf(message) {
    const words = message.split(/\s+/);
    return words.length > 1 && words[0] === 'Release' ? words[1] : '1.4.2';
}

async function onEvent(event, data) {
    if (event === 'dialog_lookup') {
        // Someone types in the approver menu: answer the matching choices.
        const query = data.query.toLowerCase();
        say(`lookup ${data.selected_field} ${data.query || '-'}`);
        const items = APPROVERS.filter((name) => name.startsWith(query))
            .map((name) => ({text: name[0].toUpperCase() + name.slice(1), value: name}));
        return {items};
    }
    // The verified username, from the expansions (user_name is passed through as received;
    // the plugin vouches for ids and expansions only).
    const expanded = data.proxy.expanded ?? {};
    const user = expanded.acting_user?.username || data.user_name;
    if (event === 'command') {
        // /release <text>: the answer is the command's response.
        say(`command ${user} ${data.text}`);
        if (data.text === 'status') { // shown to the person who typed it only
            return {response_type: 'ephemeral', text: 'Release 1.4.2 is waiting for approval.'};
        }
        if (data.text === '') {
            return {response_type: 'ephemeral', text: `Usage: /${data.trigger} status | /${data.trigger} <version>`};
        }
        // Posted in the channel, as the bot.
        return {response_type: 'in_channel', text: `@${user} asked to release ${data.text}.`};
    }
    if (event === 'action') {
        // A click: context is the action's integration.context as posted,
        // plus selected_option for a menu.
        const {action, selected_option: option} = data.context;
        say(`click ${action} ${user} ${option || '-'}`);
        if (action === 'reject') {
            // The answer updates the post (its buttons stay) and tells the clicker, in their
            // language, which release it was: read from the clicked post.
            const release = releaseOf(expanded.post?.message ?? '');
            const text = (expanded.locale ?? '').startsWith('de') ?
                `Du hast Release ${release} abgelehnt.` : `You rejected release ${release}.`;
            return {update: {message: `Rejected by @${user}`}, ephemeral_text: text};
        }
        if (action === 'region') {
            return {update: {message: `Region: ${option}`}, ephemeral_text: `Deploying to ${option}.`};
        }
        if (action === 'approve') {
            await openDialog(data.trigger_id, data.post_id);
        }
        return null;
    }
    // A dialog submission, already checked by the plugin against the
    // definition; state is what the bot put in the dialog.
    if (data.cancelled) {
        say(`cancelled ${user}`);
        return null;
    }
    const {reason, approver} = data.submission; // approver is optional: absent, or null
    if (reason.toLowerCase().includes('friday')) {
        // The bot's own rule: the dialog stays open, the text beside the field.
        say(`refused ${user} ${reason}`);
        return {errors: {reason: 'No releases on Fridays.'}};
    }
    say(`submitted ${user} ${reason}`);
    await setMessage(data.state, `Approved by @${user}: ${reason}` + (approver ? ` (approver: ${approver})` : ''));
    return {}; // closes the dialog
}

const me = await client.getMe(); // GET /api/v4/users/me: checks the token

// The client authenticates with the token once connected, and reconnects by
// itself; SocketMode subscribes each connection. Post (and register the command)
// once subscribed, so that every click on the message, and every command, comes
// through the subscription (and can be answered).
const ws = new WebSocketClient();
let posted = false;
new SocketMode(ws, onEvent, {
    // Every event carries the person who acted, the clicked post and their language, as the
    // REST API would show them to the bot: no GET /users/{id} or /posts/{id} first.
    expand: {acting_user: 'summary', post: 'summary', locale: true},
    onSubscribed: async () => {
        if (!posted) {
            posted = true;
            say(`posted ${await postMessage(me.id)}`);
            await registerCommand();
        }
    },
});
ws.initialize(client.getWebSocketUrl().replace(/^http/, 'ws'), BOT_TOKEN);

process.on('SIGINT', () => {
    ws.close();
    process.exit(0);
});
