// The library is versioned with the plugin: plugin.json is the single source of truth, and
// package.json must say the same (there is no build step to write it).

import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {test} from 'node:test';

const read = (path) => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));

test('package.json has plugin.json\'s version', () => {
    assert.equal(read('../package.json').version, read('../../../plugin.json').version,
        'set libs/js/package.json "version" to plugin.json\'s');
});

test('the plugin id the library uses is plugin.json\'s', async () => {
    const {PLUGIN_ID} = await import('../index.js');
    assert.equal(PLUGIN_ID, read('../../../plugin.json').id);
});
