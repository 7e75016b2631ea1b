// Points wasm-bindgen's glue at the wasm2js translation of the module instead of the .wasm file.
//
// A real wasm memory detaches its old buffer when it grows, which is how the glue notices; the
// translation's memory cannot, so the glue must compare buffers instead, or it would keep reading
// a stale copy after the first growth. Each replacement must apply exactly once: a different
// wasm-bindgen version fails the build here rather than at run time.
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

const dir = process.argv[2];
const edits = {
    'socket_mode_core.js': [
        ['from "./socket_mode_core_bg.wasm";', 'from "./socket_mode_core_bg.wasm.js";'],
    ],
    'socket_mode_core_bg.js': [
        [
            'cachedDataViewMemory0.buffer.detached === true || (cachedDataViewMemory0.buffer.detached === undefined && cachedDataViewMemory0.buffer !== wasm.memory.buffer)',
            'cachedDataViewMemory0.buffer !== wasm.memory.buffer',
        ],
        ['cachedUint8ArrayMemory0.byteLength === 0', 'cachedUint8ArrayMemory0.buffer !== wasm.memory.buffer'],
    ],
};

for (const [file, replacements] of Object.entries(edits)) {
    const path = join(dir, file);
    let text = readFileSync(path, 'utf8');
    for (const [from, to] of replacements) {
        const count = text.split(from).length - 1;
        if (count !== 1) {
            throw new Error(`${path}: expected "${from}" once, found it ${count} times`);
        }
        text = text.replace(from, to);
    }
    writeFileSync(path, text);
}
