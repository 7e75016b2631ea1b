// @ts-check
// The events handled lately, by proxy.event_id, with their answers.

/**
 * A bounded memory of recent event ids and what their handler answered (a promise, so that a
 * repeat that comes while the first is still being handled waits for the same answer). The oldest
 * id is forgotten first; an event sent again after more than `limit` newer ones would be handled
 * again, which is why the limit is large (an entry is an id and an answer).
 * @template T
 */
export class Seen {
    /** @param {number} limit */
    constructor(limit) {
        if (!Number.isInteger(limit) || limit < 1) {
            throw new TypeError(`remember must be a positive integer, not ${limit}`);
        }
        this.limit = limit;
        /** @type {Map<string, T>} a Map iterates oldest first */
        this.entries = new Map();
    }

    /** @param {string} id */
    get(id) {
        return this.entries.get(id);
    }

    /** @param {string} id @param {T} value */
    set(id, value) {
        this.entries.set(id, value);
        if (this.entries.size > this.limit) {
            this.entries.delete(/** @type {string} */ (this.entries.keys().next().value));
        }
    }
}
