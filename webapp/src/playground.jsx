// The payload playground: paste a post's props, see what would make a click fail and, for each
// button or menu, the event the bot would receive. Everything is computed in the browser by the
// web build of the plugin's Rust core (webapp/pkg), the same rules the server applies.
import React from 'react';

import {check, eventName, handlerUrl} from '../pkg/socket_mode_core.js';

const EXAMPLE_BOT = 'bot1bot1bot1bot1bot1bot1b1';

const example = () => JSON.stringify({
    attachments: [{
        text: 'Deploy release 1.4.2 to production?',
        actions: [
            {id: 'approve', name: 'Approve', type: 'button', style: 'primary',
                integration: {url: handlerUrl(), context: {user_id: EXAMPLE_BOT, action: 'approve'}}},
            {id: 'reject_1', name: 'Reject', type: 'button', style: 'danger',
                integration: {url: handlerUrl(), context: {user_id: EXAMPLE_BOT, action: 'reject'}}},
            {id: 'region', name: 'Region', type: 'select',
                options: [{text: 'Europe', value: 'eu'}, {text: 'Americas', value: 'us'}],
                integration: {url: handlerUrl(), context: {user_id: EXAMPLE_BOT, action: 'region'}}},
        ],
    }],
}, null, 2);

const color = {
    error: 'var(--error-text, #d24b4e)',
    warning: 'var(--away-indicator, #c68a00)',
    ok: 'var(--online-indicator, #06d6a0)',
};

const style = {
    box: {display: 'flex', flexDirection: 'column', gap: 12, maxWidth: 960},
    label: {fontWeight: 600},
    mono: {fontFamily: 'Menlo, Consolas, monospace', fontSize: 12},
    textarea: {width: '100%', minHeight: 220, fontFamily: 'Menlo, Consolas, monospace', fontSize: 12, padding: 8, boxSizing: 'border-box'},
    input: {width: 320, fontFamily: 'Menlo, Consolas, monospace', fontSize: 12, padding: 4},
    card: {border: '1px solid rgba(var(--center-channel-color-rgb, 61, 60, 64), 0.16)', borderRadius: 4, padding: '8px 12px'},
    badge: (severity) => ({color: '#fff', background: color[severity], borderRadius: 3, padding: '1px 6px', fontSize: 11, fontWeight: 600, textTransform: 'uppercase'}),
    pre: {margin: 0, padding: 8, overflowX: 'auto', background: 'rgba(var(--center-channel-color-rgb, 61, 60, 64), 0.04)', fontFamily: 'Menlo, Consolas, monospace', fontSize: 12},
};

function run(text, bot) {
    try {
        return check(text, bot.trim());
    } catch (e) {
        return {error: e.message};
    }
}

function Finding({finding}) {
    return (
        <li
            data-testid='finding'
            data-code={finding.code}
            data-severity={finding.severity}
            data-path={finding.path}
            style={{...style.card, listStyle: 'none'}}
        >
            <div>
                <span style={style.badge(finding.severity)}>{finding.severity}</span>{' '}
                <code style={style.mono}>{finding.path || '(the post)'}</code>{' '}
                <span style={{...style.mono, opacity: 0.64}}>{finding.code}</span>
            </div>
            <div>{finding.message}</div>
            <div><strong>{'Fix: '}</strong>{finding.fix}</div>
        </li>
    );
}

function Preview({preview}) {
    const verdict = preview.delivered ? 'delivered' : 'refused: fix the errors above first';
    return (
        <div
            data-testid='preview'
            data-path={preview.path}
            data-delivered={String(preview.delivered)}
            style={style.card}
        >
            <div style={{marginBottom: 6}}>
                <code style={style.mono}>{preview.path}</code>
                {preview.action_id ? <span>{' · id '}<code style={style.mono}>{preview.action_id}</code></span> : null}
                {' · '}
                <span style={{color: preview.delivered ? color.ok : color.error, fontWeight: 600}}>{verdict}</span>
            </div>
            <pre data-testid='preview-event' style={style.pre}>{JSON.stringify(preview.event, null, 2)}</pre>
        </div>
    );
}

export default function Playground() {
    const [text, setText] = React.useState(example);
    const [bot, setBot] = React.useState(EXAMPLE_BOT);
    const result = React.useMemo(() => run(text, bot), [text, bot]);

    let summary = null;
    if (result.findings) {
        const errors = result.findings.filter((f) => f.severity === 'error').length;
        const warnings = result.findings.length - errors;
        summary = result.findings.length === 0 ? 'No problems found: every click will reach the bot.' : `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}.`;
    }

    return (
        <div data-testid='playground' style={style.box}>
            <h3 style={{margin: 0}}>{'Payload playground'}</h3>
            <div>
                {'Paste a message\'s '}<code>{'props'}</code>{' (or the whole post, or its '}<code>{'attachments'}</code>
                {') to see what would make a click fail and, for each button or menu, the event '}
                <code>{eventName()}</code>{' the bot receives. Nothing leaves this page.'}
            </div>
            <label style={style.label}>
                {'Bot user id (the bot that posts the message)'}
                <br/>
                <input
                    data-testid='playground-bot'
                    style={style.input}
                    value={bot}
                    spellCheck={false}
                    onChange={(e) => setBot(e.target.value)}
                />
            </label>
            <label style={style.label}>
                {'Props JSON '}
                <button type='button' className='btn btn-link' onClick={() => setText(example())}>{'Reset to the example'}</button>
                <textarea
                    data-testid='playground-props'
                    style={style.textarea}
                    value={text}
                    spellCheck={false}
                    onChange={(e) => setText(e.target.value)}
                />
            </label>
            {result.error ? <div data-testid='playground-error' style={{color: color.error}}>{result.error}</div> : null}
            {summary ? <div data-testid='playground-summary' style={style.label}>{summary}</div> : null}
            {result.findings && result.findings.length ? <ul style={{...style.box, padding: 0, margin: 0}}>{result.findings.map((f, i) => <Finding key={i} finding={f}/>)}</ul> : null}
            {result.previews && result.previews.length ? <div style={style.label}>{'What the bot receives for a click'}</div> : null}
            {(result.previews || []).map((p) => <Preview key={p.path} preview={p}/>)}
        </div>
    );
}
