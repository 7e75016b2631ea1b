// The Delivery status section of the plugin's System Console page (SPEC §9.7): every bot that
// subscribed, its connections (live or not, on which node) and its kept events, as the plugin's
// core reports them at GET /api/v1/admin/status (administrators only). Usernames are looked up
// with GET /api/v4/users/{id}; a bot that cannot be looked up shows its id.
import React from 'react';

import {id as pluginId} from '../../plugin.json';

const STATUS_PATH = `/plugins/${pluginId}/api/v1/admin/status`;

const style = {
    box: {display: 'flex', flexDirection: 'column', gap: 8, maxWidth: 960},
    table: {borderCollapse: 'collapse', width: '100%', fontSize: 13},
    cell: {borderBottom: '1px solid rgba(var(--center-channel-color-rgb, 61, 60, 64), 0.16)', padding: '6px 8px', textAlign: 'left', verticalAlign: 'top'},
    mono: {fontFamily: 'Menlo, Consolas, monospace', fontSize: 12},
    live: (live) => ({color: live ? 'var(--online-indicator, #06d6a0)' : 'var(--error-text, #d24b4e)', fontWeight: 600}),
};

// The site's base path (Mattermost may be served under a subpath); empty in tests.
function basePath() {
    return (window.basename || '').replace(/\/+$/, '');
}

async function getJSON(path) {
    const response = await fetch(basePath() + path, {credentials: 'same-origin', headers: {'X-Requested-With': 'XMLHttpRequest'}});
    const body = await response.json().catch(() => null);
    if (!response.ok) {
        const message = body?.error?.message || body?.message || `HTTP ${response.status}`;
        throw new Error(message);
    }
    return body;
}

const when = (ms) => (ms ? new Date(ms).toLocaleString() : '—');

function Bot({bot, name, node}) {
    const live = bot.connections.filter((c) => c.live).length;
    return (
        <tr data-testid='status-bot' data-user-id={bot.user_id} data-live={live} data-kept={bot.kept}>
            <td style={style.cell}>
                <div style={{fontWeight: 600}}>{name ? `@${name}` : bot.user_id}</div>
                {name && <div style={style.mono}>{bot.user_id}</div>}
            </td>
            <td style={style.cell}>
                {bot.connections.length === 0 && <span style={style.live(false)}>{'offline'}</span>}
                {bot.connections.map((c) => (
                    <div key={c.connection_id} data-testid='status-connection' data-live={c.live}>
                        <span style={style.live(c.live)}>{c.live ? 'live' : 'gone'}</span>{' '}
                        <span style={style.mono}>{c.connection_id}</span>
                        {' on '}{c.node === node ? 'this node' : <span style={style.mono}>{c.node}</span>}
                        {', since '}{when(c.since)}
                    </div>
                ))}
            </td>
            <td style={style.cell}>
                <div data-testid='status-kept'>{bot.kept === 0 ? 'none' : `${bot.kept}, the oldest from ${when(bot.oldest_kept_at)}`}</div>
                {bot.dropped > 0 && <div style={style.live(false)}>{`${bot.dropped} dropped (over the limit)`}</div>}
            </td>
        </tr>
    );
}

export default function DeliveryStatus() {
    const [state, setState] = React.useState({loading: true});
    const load = React.useCallback(async () => {
        setState((s) => ({...s, loading: true}));
        try {
            const status = await getJSON(STATUS_PATH);
            const names = {};
            await Promise.all(status.bots.slice(0, 200).map(async (b) => {
                try {
                    names[b.user_id] = (await getJSON(`/api/v4/users/${b.user_id}`)).username;
                } catch {
                    // An id is enough to go on.
                }
            }));
            setState({status, names});
        } catch (e) {
            setState({error: e.message});
        }
    }, []);
    React.useEffect(() => {
        load();
    }, [load]);

    const {status, names, error, loading} = state;
    return (
        <div style={style.box} data-testid='delivery-status'>
            <div>
                {'Bots that subscribed to guaranteed delivery: their connections and the events kept for them until they acknowledge. '}
                <button type='button' className='btn btn-tertiary btn-sm' onClick={load} disabled={loading} data-testid='status-refresh'>{'Refresh'}</button>
            </div>
            {error && <div data-testid='status-error' style={style.live(false)}>{`The status could not be read: ${error}`}</div>}
            {status && status.bots.length === 0 && <div data-testid='status-empty'>{'No bot has subscribed yet.'}</div>}
            {status && status.bots.length > 0 && (
                <table style={style.table}>
                    <thead>
                        <tr>
                            <th style={style.cell}>{'Bot'}</th>
                            <th style={style.cell}>{'Connections'}</th>
                            <th style={style.cell}>{'Kept events'}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {status.bots.map((b) => <Bot key={b.user_id} bot={b} name={names[b.user_id]} node={status.node}/>)}
                    </tbody>
                </table>
            )}
        </div>
    );
}
