// events.d.ts against docs/schemas: every field of a schema is in its type and every field of a
// type is in its schema (but for the few the plugin has announced and not yet published, listed
// below), required exactly when not optional, of the same kind (string, number, boolean, object,
// array, the same literals), recursively; an object that allows other keys has an index
// signature, and only then.

import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {test} from 'node:test';
import ts from 'typescript';
import {readSchemas} from './schemas.js';

/** Fields the plugin has announced (issue 20 and the dialog trigger token) but its schemas do not have yet. */
const ANNOUNCED = new Set([]);

/** Each schema (or part of one) and the type that describes it. */
const PAIRS = [
    ['action-event.schema.json', [], 'ActionEvent'],
    ['command-event.schema.json', [], 'CommandEvent'],
    ['dialog-submission-event.schema.json', [], 'DialogSubmissionEvent'],
    ['dialog-lookup-event.schema.json', [], 'DialogLookupEvent'],
    ['subscribed-event.schema.json', [], 'SubscribedEvent'],
    ['unsubscribed-event.schema.json', [], 'UnsubscribedEvent'],
    ['resubscribe-event.schema.json', [], 'ResubscribeEvent'],
    ['error-event.schema.json', [], 'ErrorEvent'],
    ['ack-result-event.schema.json', [], 'AckResultEvent'],
    ['ack.schema.json', [], 'Ack'],
    ['ack.schema.json', ['properties', 'answer', 'anyOf', 0], 'ActionAnswer'],
    ['ack.schema.json', ['properties', 'answer', 'anyOf', 1], 'DialogAnswer'],
    ['ack.schema.json', ['properties', 'answer', 'anyOf', 2], 'LookupAnswer'],
    ['ack.schema.json', ['properties', 'answer', 'anyOf', 3], 'CommandAnswer'],
    ['expanded.schema.json', [], 'Expanded'],
];

const source = ts.createSourceFile('events.d.ts', readFileSync(new URL('../events.d.ts', import.meta.url), 'utf8'), ts.ScriptTarget.Latest, true);
/** @type {Map<string, ts.Node>} interfaces and type aliases by name */
const declarations = new Map();
source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) {
        declarations.set(node.name.text, node);
    }
});

const schemas = readSchemas();
/** Announced fields found in a schema after all. */
const published = new Set();
const byId = new Map(Object.entries(schemas).map(([file, doc]) => [doc.$id, file]));

/** The schema a $ref names, within `file` or in another file (by its $id). */
function resolve(file, schema) {
    while (schema?.$ref) {
        const [base, pointer = ''] = schema.$ref.split('#');
        if (base) {
            file = byId.get(base) ?? assert.fail(`unknown $ref ${schema.$ref}`);
        }
        schema = pointer.split('/').filter(Boolean).reduce((s, key) => s[key], schemas[file]);
    }
    return {file, schema};
}

/** A type node without `| null` / `| undefined`, and named types followed to their declarations. */
function unwrap(node) {
    if (ts.isUnionTypeNode(node)) {
        const rest = node.types.filter((t) => !(ts.isLiteralTypeNode(t) && t.literal.kind === ts.SyntaxKind.NullKeyword) &&
            t.kind !== ts.SyntaxKind.UndefinedKeyword);
        if (rest.length === 1) {
            return unwrap(rest[0]);
        }
        return ts.factory.createUnionTypeNode(rest);
    }
    if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName) && declarations.has(node.typeName.text)) {
        const decl = declarations.get(node.typeName.text);
        return ts.isTypeAliasDeclaration(decl) ? unwrap(decl.type) : decl;
    }
    return node;
}

/** What kind of JSON a type node describes: string, number, boolean, object, array, literals, or any. */
function typeKind(node) {
    node = unwrap(node);
    if (ts.isUnionTypeNode(node) && node.types.every((t) => ts.isLiteralTypeNode(t))) {
        return `enum ${node.types.map((t) => literal(t)).sort().join('|')}`;
    }
    if (ts.isLiteralTypeNode(node)) {
        return `enum ${literal(node)}`;
    }
    switch (node.kind) {
    case ts.SyntaxKind.StringKeyword: return 'string';
    case ts.SyntaxKind.NumberKeyword: return 'number';
    case ts.SyntaxKind.BooleanKeyword: return 'boolean';
    case ts.SyntaxKind.UnknownKeyword: return 'any';
    case ts.SyntaxKind.ArrayType: return 'array';
    case ts.SyntaxKind.InterfaceDeclaration:
    case ts.SyntaxKind.TypeLiteral: return 'object';
    }
    if (ts.isTypeReferenceNode(node)) {
        const name = node.typeName.getText(source);
        if (name === 'Array') {
            return 'array';
        }
        if (name === 'Record' || name === 'Partial') {
            return 'object';
        }
    }
    if (ts.isUnionTypeNode(node)) {
        return node.types.map(typeKind).sort().join('|');
    }
    return `unknown type ${node.getText(source)}`;
}

/** @param {ts.LiteralTypeNode} node */
function literal(node) {
    return node.literal.kind === ts.SyntaxKind.TrueKeyword ? 'true' : node.literal.kind === ts.SyntaxKind.FalseKeyword ? 'false' :
        JSON.stringify(/** @type {any} */ (node.literal).text);
}

/** The same, for a schema. */
function schemaKind(schema) {
    if (schema.const !== undefined) {
        return `enum ${JSON.stringify(schema.const)}`;
    }
    if (schema.enum) {
        return `enum ${schema.enum.map((v) => JSON.stringify(v)).sort().join('|')}`;
    }
    if (schema.anyOf && schema.anyOf.every((s) => s.$ref || s.const !== undefined)) {
        return 'string'; // an id or "" (team_id)
    }
    const types = [schema.type ?? 'any'].flat().filter((t) => t !== 'null').map((t) => (t === 'integer' ? 'number' : t));
    return types.sort().join('|');
}

/** The members of an object type node: name → {optional, type}, and whether it has an index signature. */
function membersOf(node) {
    node = unwrap(node);
    const members = new Map();
    let index = false;
    for (const clause of node.heritageClauses ?? []) { // interface X extends Y: Y's members first
        for (const base of clause.types) {
            const inherited = membersOf(declarations.get(base.expression.getText(source)));
            inherited.members.forEach((v, k) => members.set(k, v));
            index ||= inherited.index;
        }
    }
    for (const m of node.members ?? []) {
        if (ts.isIndexSignatureDeclaration(m)) {
            index = true;
        } else if (ts.isPropertySignature(m)) {
            members.set(m.name.getText(source), {optional: !!m.questionToken, type: m.type});
        }
    }
    return {members, index};
}

/** An interface's name, or the name of the interface it narrows (VerifiedProxy → Proxy). */
function baseName(node) {
    return node.heritageClauses?.[0]?.types[0]?.expression.getText(source) ?? node.name.text;
}

/** Compares a type with its schema, collecting every difference in `problems`. */
function compare(file, schema, typeNode, where, problems) {
    ({file, schema} = resolve(file, schema));
    const kind = typeKind(typeNode);
    const expected = schemaKind(schema);
    if (expected !== 'any' && kind !== 'any' && kind !== expected) {
        problems.push(`${where}: the type is ${kind}, the schema says ${expected}`);
        return;
    }
    if (!schema.properties) {
        return;
    }
    const {members, index} = membersOf(typeNode);
    const required = new Set(schema.required ?? []);
    const open = schema.additionalProperties !== false;
    if (open !== index) {
        problems.push(`${where}: ${open ? 'the schema allows other keys, the type has no index signature' : 'the type has an index signature, the schema allows no other keys'}`);
    }
    const owner = ts.isInterfaceDeclaration(unwrap(typeNode)) ? baseName(unwrap(typeNode)) : where;
    for (const [name, property] of Object.entries(schema.properties)) {
        if (ANNOUNCED.has(`${owner}.${name}`)) {
            published.add(`${owner}.${name}`);
        }
        const member = members.get(name);
        if (!member) {
            problems.push(`${where}.${name}: in the schema, not in the type`);
            continue;
        }
        if (member.optional === required.has(name)) {
            problems.push(`${where}.${name}: ${required.has(name) ? 'required by the schema, optional in the type' : 'optional in the schema, required in the type'}`);
        }
        compare(file, property, member.type, `${where}.${name}`, problems);
    }
    for (const name of members.keys()) {
        if (!(name in schema.properties) && !ANNOUNCED.has(`${owner}.${name}`)) {
            problems.push(`${where}.${name}: in the type, not in the schema`);
        }
    }
}

for (const [file, path, typeName] of PAIRS) {
    test(`${typeName} is ${file}${path.length ? ' ' + path.join('.') : ''}`, () => {
        const decl = declarations.get(typeName) ?? assert.fail(`events.d.ts has no ${typeName}`);
        const schema = path.reduce((s, key) => s[key], schemas[file]);
        const problems = [];
        compare(file, schema, ts.isTypeAliasDeclaration(decl) ? decl.type : decl, typeName, problems);
        assert.deepEqual(problems, []);
    });
}

test('the announced fields are not in the schemas yet (once they are, drop them from ANNOUNCED)', () => {
    assert.deepEqual([...published], []);
});

test('every event schema in docs/schemas is paired with a type', () => {
    const paired = new Set(PAIRS.map(([file]) => file));
    assert.deepEqual(Object.keys(schemas).filter((f) => !paired.has(f)), []);
});
