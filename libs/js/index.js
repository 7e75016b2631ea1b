// mattermost-socket-mode: Socket Mode for Mattermost, for bots on Node.js. Types: index.d.ts.
export {App} from './src/app.js';
export {button, menu} from './src/actions.js';
export {PluginError} from './src/plugin-api.js';
export {HANDLER_PATH, PLUGIN_ID} from './src/protocol.js';
