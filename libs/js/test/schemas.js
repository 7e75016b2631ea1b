// docs/schemas, compiled with Ajv: every event a test hands the library is first checked against
// the schema the plugin publishes, so the tests feed what real bots get.

import {readFileSync, readdirSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';

export const SCHEMA_DIR = fileURLToPath(new URL('../../../docs/schemas/', import.meta.url));

/** @returns {Record<string, any>} every schema document, by file name */
export function readSchemas() {
    return Object.fromEntries(readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json'))
        .map((f) => [f, JSON.parse(readFileSync(SCHEMA_DIR + f, 'utf8'))]));
}

const FILES = {
    action: 'action-event.schema.json',
    command: 'command-event.schema.json',
    dialog_submission: 'dialog-submission-event.schema.json',
    dialog_refresh: 'dialog-submission-event.schema.json',
    dialog_lookup: 'dialog-lookup-event.schema.json',
    subscribed: 'subscribed-event.schema.json',
    ack: 'ack.schema.json',
};

let ajv;

/** Throws unless data is a valid `kind` (an event's name without its prefix, or "ack"). */
export function assertValid(kind, data) {
    if (!ajv) {
        ajv = new Ajv2020({strict: false, allErrors: true});
        for (const doc of Object.values(readSchemas())) {
            ajv.addSchema(doc);
        }
    }
    const schema = readSchemas()[FILES[kind]];
    const validate = ajv.getSchema(schema.$id);
    if (!validate(data)) {
        throw new Error(`${kind} does not match docs/schemas/${FILES[kind]}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(data)}`);
    }
}
