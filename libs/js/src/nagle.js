// @ts-check
// The bot's half of the remedy for Mattermost's Nagle stall (SPEC §14, issue 20).
//
// Mattermost turns TCP_NODELAY off on its side of every websocket. A small message the server
// sent (the `post_edited` after an answer, say) that the bot has not acknowledged at the TCP level
// holds back the server's next message, the bot's next event, until the bot's delayed ACK leaves,
// about 40 ms later on Linux. The remedy is to acknowledge at once. On Linux that is TCP_QUICKACK
// after every read, but Node.js has no setsockopt; so the bot sends a websocket pong frame right
// after each message it receives (RFC 6455 allows unsolicited pongs and Mattermost ignores them):
// the pong leaves at once (TCP_NODELAY on the bot's side) and carries the TCP ACK with it.
// It costs one 6-byte frame per received message.

/**
 * Applies the remedy to a `ws` client socket, from its creation on: TCP_NODELAY on its socket
 * once connected (`ws` sets it too; we do not depend on that), and a pong after every message.
 * @param {import('ws').WebSocket} ws
 */
export function acknowledgeEveryMessage(ws) {
    ws.once('upgrade', (response) => response.socket.setNoDelay(true));
    // Registered before @mattermost/client's onmessage, so the pong leaves before the message is
    // handled.
    ws.on('message', () => {
        if (ws.readyState === ws.OPEN) {
            ws.pong();
        }
    });
}
