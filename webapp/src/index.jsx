// The plugin's webapp: registers the payload playground as the `Playground` custom setting of the
// plugin's System Console page (plugin.json declares it with "type": "custom").
import {id} from '../../plugin.json';

import Playground from './playground';

class Plugin {
    initialize(registry) {
        registry.registerAdminConsoleCustomSetting('Playground', Playground, {showTitle: false});
    }
}

window.registerPlugin(id, new Plugin());
