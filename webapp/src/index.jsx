// The plugin's webapp: registers the payload playground and the delivery status as the
// `Playground` and `DeliveryStatus` custom settings of the plugin's System Console page
// (plugin.json declares them with "type": "custom").
import {id} from '../../plugin.json';

import Playground from './playground';
import DeliveryStatus from './status';

class Plugin {
    initialize(registry) {
        registry.registerAdminConsoleCustomSetting('DeliveryStatus', DeliveryStatus, {showTitle: true});
        registry.registerAdminConsoleCustomSetting('Playground', Playground, {showTitle: false});
    }
}

window.registerPlugin(id, new Plugin());
