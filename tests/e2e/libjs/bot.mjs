// The bot tests/e2e/lib_javascript_test.go runs against the real server, on the mattermost-socket-mode
// library (libs/js). stdout: "ready <connection_id>", "posted <post_id>", "dialog <session_id>",
// "dialog-error <code>", and "event <json>" for every event a handler receives
// ({"kind", "replica", "event"}: the test checks each against docs/schemas).
//
//   MM_URL=... MM_BOT_TOKEN=... MM_COMMAND=<trigger> REPLICA=a [MM_CHANNEL_ID=<post there first>] node bot.mjs

import {App, button} from 'mattermost-socket-mode';

const env = (name) => process.env[name] ?? '';
const replica = env('REPLICA');
const say = (line) => process.stdout.write(line + '\n');
const record = (kind, event) => say('event ' + JSON.stringify({kind, replica, event}));

const app = new App({url: env('MM_URL'), token: env('MM_BOT_TOKEN'), expand: {acting_user: 'summary'}, logLevel: 'debug'});
const user = (event) => event.proxy.expanded?.acting_user?.username ?? '?';

app.action('answer', (event) => {
    record('action', event);
    return {update: {message: `Answered for @${user(event)}`}, ephemeral_text: `Answered by ${replica}.`};
});

app.action('dialog', async (event, {app}) => {
    record('action', event);
    try {
        const {session_id: session} = await app.openDialog(event, {
            callback_id: 'libjs', title: 'Library dialog', state: event.post_id,
            elements: [
                {display_name: 'Reason', name: 'reason', type: 'text', min_length: 3, max_length: 100},
                {display_name: 'Who', name: 'who', type: 'select', data_source: 'dynamic', optional: true},
            ],
        });
        say(`dialog ${session}`);
    } catch (err) {
        say(`dialog-error ${err.code} ${err.message}`);
    }
});

app.lookup('libjs', 'who', (event) => {
    record('dialog_lookup', event);
    return ['alice', 'bob', 'carol'].filter((name) => name.startsWith(event.query));
});

app.dialog('libjs', (event) => {
    record('dialog_submission', event);
    return String(event.submission.reason).includes('bad') ? {errors: {reason: 'Not that one.'}} : {};
});

app.command(env('MM_COMMAND'), {description: 'The library test'}, (event) => {
    record('command', event);
    return `pong ${event.text}`;
});

app.catchAll((event, {kind}) => record(kind, event));

const subscribed = await app.start();
if (env('MM_CHANNEL_ID')) {
    const post = await app.post(env('MM_CHANNEL_ID'), 'The library test', {actions: [button('answer', 'Answer'), button('dialog', 'Dialog')]});
    say(`posted ${post.id}`);
}
say(`ready ${subscribed.connection_id}`);
await app.run();
