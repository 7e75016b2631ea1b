package main

import (
	"context"
	"errors"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/segmentio/encoding/json"
)

// configuration is the plugin's settings in the form the core normalized and checked.
//
// As in the starter template it is replaced whole, never changed in place; the core, not Go,
// knows what a valid setting is and what to run with when one is wrong (src/configure.rs).
type configuration struct {
	// settings is passed back to the core with every call.
	settings json.RawMessage
	// prefetch is what the shim may answer before an input's first call, by path, under these
	// settings (the core's lists, ready to fill).
	prefetch map[string]*prefetchPlan
}

// getConfiguration returns the settings in force. Lock-free: it is read on every request.
func (p *Plugin) getConfiguration() *configuration {
	if c := p.configuration.Load(); c != nil {
		return c
	}
	return &configuration{}
}

func (p *Plugin) setConfiguration(c *configuration) {
	p.configuration.Store(c)
}

// OnConfigurationChange applies saved settings at once, without a restart. Mattermost also
// calls it once before OnActivate, when the core is not compiled yet; OnActivate applies them.
func (p *Plugin) OnConfigurationChange() error {
	if !p.life.enter() {
		return nil
	}
	defer p.life.leave()
	return p.configure("change")
}

// ConfigurationWillBeSaved refuses invalid settings before they are saved, so System Console
// shows the message (which names the setting) instead of saving something unusable.
func (p *Plugin) ConfigurationWillBeSaved(newCfg *model.Config) (*model.Config, error) {
	if newCfg == nil || !p.life.enter() {
		return nil, nil
	}
	defer p.life.leave()
	rep, err := p.callCore(context.Background(), laneInteractive, newConfigureCall(newCfg.PluginSettings.Plugins[p.info.PluginID], nil, "save", serverFactsOf(newCfg)), nil)
	if err != nil {
		return nil, err
	}
	p.carryOut(rep.Effects)
	if rep.Error != nil {
		return nil, errors.New(*rep.Error)
	}
	return nil, nil
}

// configure has the core read the saved settings for a hook ("activate" or "change"), keeps
// the settings it says to run with, and returns the error it says the hook returns.
func (p *Plugin) configure(event string) error {
	previous := p.getConfiguration().settings
	rep, err := p.callCore(context.Background(), laneInteractive, newConfigureCall(p.API.GetPluginConfig(), previous, event, serverFactsOf(p.API.GetConfig())), nil)
	if err != nil {
		return err
	}
	p.setConfiguration(&configuration{settings: rep.Settings, prefetch: newPrefetchPlans(rep.Prefetch)})
	p.carryOut(rep.Effects)
	if rep.Error != nil {
		return errors.New(*rep.Error)
	}
	return nil
}

// serverFactsOf is what the core runs with of the server's configuration, beside the settings
// (Mattermost calls OnConfigurationChange for every change of its configuration), never read
// per request: the Site URL (Mattermost sends a click on a button with an absolute URL to the
// plugin only when that URL is on it), whether it runs in a cluster, how long a trigger id
// opens a dialog (OutgoingIntegrationRequestsTimeout), and whether custom slash commands are
// off (EnableCommands).
func serverFactsOf(cfg *model.Config) serverFacts {
	var facts serverFacts
	if cfg == nil {
		return facts
	}
	if cfg.ServiceSettings.SiteURL != nil {
		facts.SiteURL = *cfg.ServiceSettings.SiteURL
	}
	if cfg.ClusterSettings.Enable != nil {
		facts.Clustered = *cfg.ClusterSettings.Enable
	}
	if cfg.ServiceSettings.OutgoingIntegrationRequestsTimeout != nil {
		facts.IntegrationTimeoutS = *cfg.ServiceSettings.OutgoingIntegrationRequestsTimeout
	}
	facts.CustomCommandsOff = cfg.ServiceSettings.EnableCommands != nil && !*cfg.ServiceSettings.EnableCommands
	return facts
}
