package main

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/mattermost/mattermost/server/public/model"
)

// configuration is the plugin's settings in the form the core normalized and checked.
//
// As in the starter template it is replaced whole, never changed in place; the core, not Go,
// knows what a valid setting is and what to run with when one is wrong (src/configure.rs).
type configuration struct {
	// settings is passed back to the core with every call.
	settings json.RawMessage
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
	rep, err := p.callCore(context.Background(), laneInteractive, newConfigureCall(newCfg.PluginSettings.Plugins[p.info.PluginID], nil, "save", siteURL(newCfg)), nil)
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
	rep, err := p.callCore(context.Background(), laneInteractive, newConfigureCall(p.API.GetPluginConfig(), previous, event, siteURL(p.API.GetConfig())), nil)
	if err != nil {
		return err
	}
	p.setConfiguration(&configuration{settings: rep.Settings})
	p.carryOut(rep.Effects)
	if rep.Error != nil {
		return errors.New(*rep.Error)
	}
	return nil
}

// siteURL is the server's address (ServiceSettings.SiteURL), which the core runs with beside
// the settings: Mattermost sends a click on a button with an absolute URL to the plugin only
// when that URL is on it. Read with the settings (Mattermost calls OnConfigurationChange for
// every change of its configuration), never per click.
func siteURL(cfg *model.Config) string {
	if cfg == nil || cfg.ServiceSettings.SiteURL == nil {
		return ""
	}
	return *cfg.ServiceSettings.SiteURL
}
