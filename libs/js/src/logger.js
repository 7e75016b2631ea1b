// @ts-check
// The default logger: one line per message on stderr (stdout stays the bot's own).

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'];

/**
 * @param {string} level the least severe level written: debug, info, warn, error, or silent
 * @returns {import('./dispatch.js').Logger}
 */
export function makeLogger(level) {
    const least = LEVELS.indexOf(level);
    if (least < 0) {
        throw new TypeError(`logLevel must be one of ${LEVELS.join(', ')}, not ${JSON.stringify(level)}`);
    }
    /** @param {string} name */
    const writer = (name) => (LEVELS.indexOf(name) < least ? () => {} : (/** @type {unknown[]} */ ...parts) => {
        process.stderr.write(`mattermost-socket-mode ${name}: ${parts.join(' ')}\n`);
    });
    return {debug: writer('debug'), info: writer('info'), warn: writer('warn'), error: writer('error')};
}
