package socketmode

// Version is the version of this library: the plugin's (plugin.json), which a test keeps
// equal. A library works with the plugin of the same major version.
const Version = "1.1.0"
