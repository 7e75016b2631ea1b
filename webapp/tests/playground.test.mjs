// The playground in a real browser: Playwright drives Debian's headless Chromium through a test
// page that loads the built bundle (dist/main.js) the way Mattermost does, under Mattermost's
// Content-Security-Policy, pastes several payloads and checks the findings and the previews.
// A screenshot is left in test-artifacts/playground.png.
//
//   npm run test:browser          (make test-browser builds the bundle and installs Chromium)
//   CHROMIUM=/path/to/chrome npm run test:browser
import assert from 'node:assert/strict';
import {mkdirSync, readFileSync} from 'node:fs';
import {createServer} from 'node:http';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {after, before, test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {chromium} from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, '..', 'plugin.json'), 'utf8'));
const HANDLER = `/plugins/${manifest.id}/api/v1/handler`;
const BOT = 'bot1bot1bot1bot1bot1bot1b1';

// What Mattermost sends with its pages (server/channels/web/handlers.go): no 'wasm-unsafe-eval',
// no inline scripts.
const CSP = "frame-ancestors 'self'; script-src 'self'";

const files = {
    '/react.js': join(root, 'node_modules/react/umd/react.production.min.js'),
    '/react-dom.js': join(root, 'node_modules/react-dom/umd/react-dom.production.min.js'),
    '/harness.js': join(root, 'tests/harness.js'),
    '/main.js': join(root, 'dist/main.js'),
};
const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>Payload playground</title>
<style>body { font-family: 'Open Sans', sans-serif; font-size: 14px; color: #3d3c40; margin: 24px; }</style>
</head><body><div id="root"></div>
<script src="/react.js"></script><script src="/react-dom.js"></script>
<script src="/harness.js"></script><script src="/main.js"></script>
</body></html>`;

// What the plugin's administrators' status answers (as the core answers it, tests/fixtures/
// delivery/admin_status.json), or, when `statusForbidden`, its refusal for a non-administrator.
const STATUS_PATH = `/plugins/${manifest.id}/api/v1/admin/status`;
const adminStatus = {
    bots: [
        {answer_window_ms: 2500, dropped: 0, keep_hours: 24, kept: 3, oldest_kept_at: 1699999940123, subscribed: true, user_id: BOT,
            connections: [
                {connection_id: 'conn1', live: true, node: 'nodenodenodenodenodenode01', since: 1700000000000},
                {connection_id: 'conn9', live: false, node: 'othernodeothernodeothern02', since: 1700000000000},
            ]},
        {answer_window_ms: 2500, dropped: 7, keep_hours: 24, kept: 0, subscribed: true, user_id: 'gonegonegonegonegonegone01', connections: []},
    ],
    node: 'nodenodenodenodenodenode01',
    this_node_heartbeat_key: 'node_nodenodenodenodenodenode01',
};
let statusForbidden = false;

let server;
let browser; // the persistent context
let tab;
let profile;
const problems = [];

before(async () => {
    server = createServer((req, res) => {
        const json = (status, body) => {
            res.writeHead(status, {'Content-Type': 'application/json'});
            res.end(JSON.stringify(body));
        };
        if (req.url === STATUS_PATH) {
            return statusForbidden ?
                json(403, {ephemeral_text: 'Only system administrators may see every bot\'s delivery status.',
                    error: {code: 'not_admin', message: 'only system administrators may see every bot\'s delivery status'}}) :
                json(200, adminStatus);
        }
        if (req.url === `/api/v4/users/${BOT}`) {
            return json(200, {id: BOT, username: 'helper-bot'});
        }
        if (req.url.startsWith('/api/v4/users/')) {
            return json(404, {message: 'Unable to find the user.'});
        }
        const file = files[req.url];
        const [type, body] = file ? ['text/javascript', readFileSync(file)] : ['text/html', page];
        res.writeHead(200, {'Content-Type': type, 'Content-Security-Policy': CSP});
        res.end(body);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    profile = mkdtempSync(join(tmpdir(), 'playground-chromium-'));
    // A fresh profile every run; Playwright takes it as launchPersistentContext's first argument.
    browser = await chromium.launchPersistentContext(profile, {
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
        viewport: {width: 1100, height: 900},
        args: [
            '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync',
        ],
    });
    tab = await browser.newPage();
    tab.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // The browser logs every HTTP error as a console error: the status tests ask for a 404 (a
    // user that cannot be looked up) and a 403 on purpose.
    tab.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && problems.push(`console: ${m.text()}`));
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    await tab.waitForSelector('[data-testid=playground]');
});

after(async () => {
    await browser?.close();
    server?.close();
    if (profile) {
        rmSync(profile, {recursive: true, force: true});
    }
});

const action = (id, extra = {}) => ({
    id, name: id, type: 'button', integration: {url: HANDLER, context: {user_id: BOT, action: id}}, ...extra,
});

async function paste(props, bot = BOT) {
    await tab.fill('[data-testid=playground-bot]', bot);
    await tab.fill('[data-testid=playground-props]', typeof props === 'string' ? props : JSON.stringify(props, null, 2));
}

function findings() {
    return tab.$$eval('[data-testid=finding]', (els) => els.map((e) => ({code: e.dataset.code, severity: e.dataset.severity, path: e.dataset.path, text: e.textContent})));
}

function previews() {
    return tab.$$eval('[data-testid=preview]', (els) => els.map((e) => ({
        path: e.dataset.path,
        delivered: e.dataset.delivered === 'true',
        event: JSON.parse(e.querySelector('[data-testid=preview-event]').textContent),
    })));
}

const summary = () => tab.textContent('[data-testid=playground-summary]');

test('the bundle registers the Playground custom setting under the plugin id', async () => {
    const registered = await tab.evaluate(() => window.registered);
    assert.equal(registered.id, manifest.id);
    assert.deepEqual(registered.keys, ['DeliveryStatus', 'Playground']);
    for (const key of registered.keys) {
        const setting = manifest.settings_schema.settings.find((s) => s.key === key);
        assert.equal(setting?.type, 'custom', key);
    }
    assert.equal(manifest.webapp.bundle_path, 'webapp/dist/main.js');
});

test('the page forbids WebAssembly, as Mattermost does, and the core runs anyway', async () => {
    const wasm = await tab.evaluate(() => WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])).then(() => 'compiled', (e) => `refused: ${e.message}`));
    assert.match(wasm, /^refused/);
    assert.ok((await findings()).length > 0, 'the example was linted');
});

test('the example shows the underscore in an action id, and the event of every action', async () => {
    const found = await findings();
    assert.deepEqual(found.map((f) => [f.severity, f.code, f.path]), [['error', 'action_id_invalid', 'attachments[0].actions[1].id']]);
    assert.match(found[0].text, /Use only letters and digits, e\.g\. "reject1"/);
    assert.equal(await summary(), '1 error, 0 warnings.');
    const shown = await previews();
    assert.deepEqual(shown.map((p) => [p.path, p.delivered]), [
        ['attachments[0].actions[0]', true],
        ['attachments[0].actions[1]', false],
        ['attachments[0].actions[2]', true],
    ]);
    assert.deepEqual(shown[2].event.context, {user_id: BOT, action: 'region', selected_option: 'eu'});
    assert.equal(shown[2].event.type, 'select');
    mkdirSync(join(root, 'test-artifacts'), {recursive: true});
    await tab.screenshot({path: join(root, 'test-artifacts', 'playground.png'), fullPage: true});
});

test('a correct message: no findings, and the exact event the bot receives', async () => {
    await paste({props: {attachments: [{actions: [action('approve'), action('reject', {style: '#1e88e5'})]}]}});
    assert.deepEqual(await findings(), []);
    assert.equal(await summary(), 'No problems found: every click will reach the bot.');
    const [first] = await previews();
    assert.equal(first.delivered, true);
    assert.deepEqual(first.event, {
        channel_id: 'chanchanchanchanchanchan01', channel_name: 'town-square',
        context: {action: 'approve', user_id: BOT}, data_source: '',
        post_id: 'postpostpostpostpostpost01',
        proxy: {event_id: 'yye1rc4rkiu8xnr3ik7h3zxq9h', received_at: 1700000000123, verified: true, version: manifest.version},
        team_domain: 'your-team', team_id: 'teamteamteamteamteamteam01',
        trigger_id: '(issued by Mattermost on click)', type: 'button',
        user_id: 'youyouyouyouyouyouyouyou01', user_name: 'you',
    });
});

test('the usual mistakes: a foreign URL, a username for the bot, another bot, a menu with nothing to choose', async () => {
    const other = 'otherbototherbototherbot01';
    await paste({attachments: [{actions: [
        action('hook', {integration: {url: 'https://bot.example.com/hook', context: {user_id: BOT}}}),
        action('who', {integration: {url: HANDLER, context: {user_id: 'helper-bot'}}}),
        action('other', {integration: {url: HANDLER, context: {user_id: other}}}),
        {id: 'menu', name: 'Menu', type: 'select', integration: {url: HANDLER, context: {user_id: BOT}}},
    ]}]});
    const codes = (await findings()).map((f) => `${f.code} ${f.path}`);
    assert.deepEqual(codes, [
        'integration_url_wrong attachments[0].actions[0].integration.url',
        'context_user_id_invalid attachments[0].actions[1].integration.context.user_id',
        'context_user_id_not_bot attachments[0].actions[2].integration.context.user_id',
        'select_without_options attachments[0].actions[3].options',
    ]);
    assert.ok((await previews()).every((p) => !p.delivered));
});

test('what the trip to the bot changes: [] becomes null, big integers lose precision', async () => {
    await paste(`{"attachments": [{"actions": [{"id": "n", "name": "N", "type": "button",
        "integration": {"url": "${HANDLER}", "context": {"user_id": "${BOT}", "tags": [], "big": 9007199254740993}}}]}]}`);
    const found = await findings();
    assert.deepEqual(found.map((f) => [f.severity, f.code]), [['warning', 'context_number_inexact'], ['warning', 'context_empty_array']]);
    const [shown] = await previews();
    assert.equal(shown.event.context.tags, null);
    assert.equal(shown.event.context.big, 9007199254740992);
    assert.equal(shown.delivered, true);
});

test('a missing bot id is pointed out, and invalid JSON is reported, not thrown', async () => {
    await paste({attachments: [{actions: [action('approve')]}]}, '');
    assert.deepEqual((await findings()).map((f) => f.code), ['bot_user_id_missing']);
    await paste('{"attachments": [', BOT);
    assert.match(await tab.textContent('[data-testid=playground-error]'), /not valid JSON/);
    assert.equal(await tab.$('[data-testid=finding]'), null);
});

test('a large message (the core grows its memory) is linted correctly', async () => {
    const blob = 'x'.repeat(300 << 10);
    await paste({attachments: [{actions: [action('big', {integration: {url: HANDLER, context: {user_id: BOT, blob}}}), action('after_big')]}]});
    const found = await findings();
    assert.deepEqual(found.map((f) => f.code), ['context_large', 'action_id_invalid']);
    const [first] = await previews();
    assert.equal(first.event.context.blob.length, blob.length);
});

test('the delivery status shows each subscribed bot, its connections and its kept events', async () => {
    await tab.waitForSelector('[data-testid=status-bot]');
    const bots = await tab.$$eval('[data-testid=status-bot]', (els) => els.map((e) => ({
        id: e.dataset.userId, live: e.dataset.live, kept: e.dataset.kept, text: e.textContent,
        connections: [...e.querySelectorAll('[data-testid=status-connection]')].map((c) => c.dataset.live),
    })));
    assert.deepEqual(bots.map((b) => [b.id, b.live, b.kept, b.connections]), [
        [BOT, '1', '3', ['true', 'false']],
        ['gonegonegonegonegonegone01', '0', '0', []],
    ]);
    assert.match(bots[0].text, /@helper-bot/);
    assert.match(bots[0].text, /live conn1 on this node/);
    assert.match(bots[0].text, /gone conn9 on othernodeothernodeothern02/);
    assert.match(bots[0].text, /3, the oldest from/);
    assert.match(bots[1].text, /gonegonegonegonegonegone01/, 'a bot whose name cannot be looked up shows its id');
    assert.match(bots[1].text, /offline/);
    assert.match(bots[1].text, /7 dropped/);
    await tab.locator('[data-testid=delivery-status]').screenshot({path: join(root, 'test-artifacts', 'delivery-status.png')});
});

test('the delivery status says why it cannot be read (not an administrator)', async () => {
    statusForbidden = true;
    try {
        await tab.click('[data-testid=status-refresh]');
        await tab.waitForSelector('[data-testid=status-error]');
        assert.match(await tab.textContent('[data-testid=status-error]'), /only system administrators/);
        assert.equal(await tab.$('[data-testid=status-bot]'), null);
    } finally {
        statusForbidden = false;
    }
});

test('the playground never marks the setting as changed, and the page logged no error', async () => {
    assert.equal(await tab.evaluate(() => window.settingChanged), false);
    assert.deepEqual(problems, []);
});
