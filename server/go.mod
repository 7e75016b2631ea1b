module github.com/socketmode/mattermost-plugin-interactive-message-actions-to-websocket-proxy/server

go 1.25.0

require (
	github.com/mattermost/mattermost/server/public v0.1.21 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	github.com/tetratelabs/wazero v1.12.0 // indirect
	golang.org/x/sys v0.44.0 // indirect
)
