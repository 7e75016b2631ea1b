// Stands in for Mattermost's webapp: collects what the plugin registers and renders the
// Playground custom setting with the props System Console gives such a component.
/* global React, ReactDOM */
window.registerPlugin = function registerPlugin(id, plugin) {
    const settings = {};
    plugin.initialize({
        registerAdminConsoleCustomSetting(key, component, options) {
            settings[key] = {component, options};
        },
    }, {});
    window.registered = {id, keys: Object.keys(settings), options: settings.Playground && settings.Playground.options};
    window.settingChanged = false;
    const props = {
        id: 'Playground',
        label: 'Payload playground',
        helpText: null,
        value: null,
        disabled: false,
        setByEnv: false,
        onChange() {
            window.settingChanged = true;
        },
        setSaveNeeded() {},
        registerSaveAction() {},
        unRegisterSaveAction() {},
    };
    ReactDOM.createRoot(document.getElementById('root')).render(React.createElement(settings.Playground.component, props));
};
