// Compiled by `tsc` (npm test), never run: the public API used as a TypeScript bot would use it.
// A type that stops fitting this use fails the test.
import {App, PluginError, button, menu, type ActionEvent, type SubscribedEvent} from 'mattermost-socket-mode';

const app = new App({url: 'https://chat.example.com', token: 't', expand: {acting_user: 'summary', locale: true}});

app.action('approve', async (event: ActionEvent, {app, ack}) => {
    const user: string = event.user_name;
    const attempt: number | undefined = event.proxy.delivery?.attempt;
    const reason = event.proxy.delivery?.reason; // announced, optional
    void attempt; void reason;
    ack({ephemeral_text: `Thanks, @${user}.`});
    await app.openDialog(event, {callback_id: 'approve', title: 'Approve', elements: []});
});
app.action({action: 'reject'}, (event) => ({update: {message: `Rejected by @${event.user_name}`}, ephemeral_text: 'Done.'}));
app.menu('region', (_event, {value}) => `Deploying to ${value}.`);
app.dialog('approve', (event) => {
    if (event.cancelled) {
        return;
    }
    return String(event.submission.reason).length < 3 ? {errors: {reason: 'Too short.'}} : {};
});
app.lookup('approve', 'approver', (event) => ['alice', 'bob'].filter((n) => n.startsWith(event.query)));
app.refresh('approve', () => ({title: 'Approve', elements: []}));
app.command('release', {description: 'Release things', hint: '[status]'}, (event) =>
    event.text === 'status' ? 'Waiting.' : {response_type: 'in_channel', text: 'Released.'});
app.catchAll((event, {kind}) => console.log(kind, event.proxy.event_id));
app.onWebSocketEvent((message) => console.log(message.event));

async function main(): Promise<void> {
    const subscribed: SubscribedEvent = await app.start();
    console.log(subscribed.answer_window_ms, app.botUserId);
    const post = await app.post('channelid', 'Release 1.4.2?', {actions: [
        button('approve', 'Approve', {style: 'primary'}),
        menu('region', 'Region', [{text: 'Europe', value: 'eu'}]),
    ]});
    console.log(post.id, (await app.lint({message: 'x', props: {}})).findings.length);
    try {
        await app.sendEphemeral('userid', 'channelid', 'Sure?', {attachments: [{actions: [button('yes', 'Yes')]}]});
    } catch (err) {
        if (err instanceof PluginError) {
            console.log(err.code, err.status);
        }
    }
    await app.stop();
}
void main;
