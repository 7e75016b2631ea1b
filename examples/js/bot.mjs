// Socket Mode for Mattermost: a websocket-only bot in JavaScript (Node.js), on the
// mattermost-socket-mode library (libs/js).
//
// The bot posts a message with two buttons and a menu, then hears every click
// on its websocket; it has no HTTP endpoint of its own. The library subscribes
// to the plugin's delivery protocol, so that no click is lost while the bot
// restarts, and acknowledges each event with what its handler returns.
// "Reject" and a region choice are answered the way an HTTP integration would:
// the answer updates the message and shows the clicker a line of text.
// "Approve" opens a dialog through the plugin; the dialog's approver menu (a
// dynamic select) and the submitted dialog also arrive on the websocket, and
// the bot answers them (the menu's items; the submission's errors, or {} to
// close it). It registers a slash command (/release) and answers it too.
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
// ("websocket connecting to ..."); diagnostics go to stderr.

import {App, button, menu} from 'mattermost-socket-mode';

const MM_URL = mustEnv('MM_URL'); // e.g. http://127.0.0.1:8065
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

const app = new App({
    url: MM_URL,
    token: BOT_TOKEN,
    // Every event carries the person who acted, the clicked post and their language, as the
    // REST API would show them to the bot: no GET /users/{id} or /posts/{id} first.
    expand: {acting_user: 'summary', post: 'summary', locale: true},
});

// The verified username, from the expansions (user_name is passed through as received;
// the plugin vouches for ids and expansions only).
function userOf(event) {
    return event.proxy.expanded?.acting_user?.username || event.user_name;
}

// The release a message like "Release 1.4.2 is ready." is about.
function releaseOf(message) {
    const words = message.split(/\s+/);
    return words.length > 1 && words[0] === 'Release' ? words[1] : '1.4.2';
}

// Reject: the answer updates the post (its buttons stay) and tells the clicker, in their
// language, which release it was: read from the clicked post.
app.action('reject', (event) => {
    const user = userOf(event);
    say(`click reject ${user} -`);
    const {post, locale = ''} = event.proxy.expanded ?? {};
    const release = releaseOf(post?.message ?? '');
    const text = locale.startsWith('de') ? `Du hast Release ${release} abgelehnt.` : `You rejected release ${release}.`;
    return {update: {message: `Rejected by @${user}`}, ephemeral_text: text};
});

app.menu('region', (event, {value}) => {
    say(`click region ${userOf(event)} ${value}`);
    return {update: {message: `Region: ${value}`}, ephemeral_text: `Deploying to ${value}.`};
});

// Approve opens the approval dialog through the plugin, which checks the fields (here: the
// reason's length) inside the dialog and sends a valid submission to this bot. The approver, a
// dynamic select without a data_source_url, is answered by this bot too (app.lookup below). The
// trigger expires within seconds of the click: open the dialog right away.
app.action('approve', async (event, {app}) => {
    say(`click approve ${userOf(event)} -`);
    try {
        const {session_id: session} = await app.openDialog(event, {
            callback_id: 'approve',
            title: 'Approve release',
            notify_on_cancel: true, // also tell the bot when the person cancels
            state: event.post_id, // comes back in the submission event
            elements: [
                {display_name: 'Reason', name: 'reason', type: 'textarea', min_length: 3, max_length: 200},
                {display_name: 'Approver', name: 'approver', type: 'select', data_source: 'dynamic', optional: true},
            ],
        });
        say(`dialog opened ${session}`);
    } catch (err) { // a PluginError: {code: "trigger_expired", ...}
        console.error(`dialog not opened: ${err.message}`);
        say(`dialog error ${err.code}`);
    }
});

// Someone types in the approver menu: answer the matching choices.
app.lookup('approve', 'approver', (event) => {
    say(`lookup ${event.selected_field} ${event.query || '-'}`);
    return APPROVERS.filter((name) => name.startsWith(event.query.toLowerCase()))
        .map((name) => ({text: name[0].toUpperCase() + name.slice(1), value: name}));
});

// The dialog, submitted (already checked by the plugin against its definition) or cancelled.
app.dialog('approve', async (event, {app}) => {
    const user = userOf(event);
    if (event.cancelled) {
        say(`cancelled ${user}`);
        return;
    }
    const {reason, approver} = event.submission; // approver is optional: absent, or null
    if (reason.toLowerCase().includes('friday')) {
        // The bot's own rule: the dialog stays open, the text beside the field.
        say(`refused ${user} ${reason}`);
        return {errors: {reason: 'No releases on Fridays.'}};
    }
    say(`submitted ${user} ${reason}`);
    // A patch changes the text and leaves the buttons as they are.
    await app.client.patchPost({id: event.state, message: `Approved by @${user}: ${reason}` + (approver ? ` (approver: ${approver})` : '')});
    return {}; // closes the dialog
});

// /release <text>: the answer is the command's response.
app.command(COMMAND, {displayName: 'Release', description: 'Release 1.4.2: status or approve', hint: '[status|<version>]'}, (event) => {
    const user = userOf(event);
    say(`command ${user} ${event.text}`);
    if (event.text === 'status') { // shown to the person who typed it only
        return {response_type: 'ephemeral', text: 'Release 1.4.2 is waiting for approval.'};
    }
    if (event.text === '') {
        return {response_type: 'ephemeral', text: `Usage: /${event.trigger} status | /${event.trigger} <version>`};
    }
    // Posted in the channel, as the bot.
    return {response_type: 'in_channel', text: `@${user} asked to release ${event.text}.`};
});

// app.start() registers the command, connects and subscribes. A trigger that another bot or
// Mattermost has is refused (command_taken): the bot runs without it.
await app.start();
// Subscribed: every click on the message comes through the subscription.
const post = await app.post(CHANNEL_ID, 'Release 1.4.2 is ready.', {attachments: [{
    text: 'Deploy it to production?',
    actions: [
        button('approve', 'Approve', {style: 'primary'}),
        button('reject', 'Reject', {style: 'danger'}),
        menu('region', 'Region', [{text: 'Europe', value: 'eu'}, {text: 'Americas', value: 'us'}]),
    ],
}]});
say(`posted ${post.id}`);
const {error} = app.commands.get(COMMAND);
say(error ? `command error ${error.code}` : `command registered ${COMMAND}`);
await app.run(); // until SIGINT or SIGTERM; then the handlers under way finish
