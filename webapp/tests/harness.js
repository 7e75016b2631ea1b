// Stands in for Mattermost's webapp: collects what the plugin registers and renders each custom
// setting (the delivery status, the playground) with the props System Console gives such a
// component.
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
    const root = document.getElementById('root');
    for (const key of Object.keys(settings)) {
        const holder = document.createElement('section');
        root.appendChild(holder);
        ReactDOM.createRoot(holder).render(React.createElement(settings[key].component, {...props, id: key}));
    }
};
