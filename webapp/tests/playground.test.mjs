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

let server;
let browser; // the persistent context
let tab;
let profile;
const problems = [];

before(async () => {
    server = createServer((req, res) => {
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
    tab.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
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
    assert.deepEqual(registered.keys, ['Playground']);
    const setting = manifest.settings_schema.settings.find((s) => s.key === 'Playground');
    assert.equal(setting.type, 'custom');
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

test('the playground never marks the setting as changed, and the page logged no error', async () => {
    assert.equal(await tab.evaluate(() => window.settingChanged), false);
    assert.deepEqual(problems, []);
});
