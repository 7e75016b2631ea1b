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
// knows what a valid setting is (src/settings.rs), so normalize asks it.
type configuration struct {
	// settings is passed back to the core with every request.
	settings json.RawMessage
}

// Clone returns a copy that shares nothing with c.
func (c *configuration) Clone() *configuration {
	return &configuration{settings: append(json.RawMessage(nil), c.settings...)}
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
	if p.core == nil {
		return nil
	}
	if err := p.applyConfiguration(); err != nil {
		p.API.LogError("the new settings are invalid; keeping the previous ones", "error", err.Error())
		return err
	}
	return nil
}

// ConfigurationWillBeSaved refuses invalid settings before they are saved, so System Console
// shows the message (which names the setting) instead of saving something unusable.
func (p *Plugin) ConfigurationWillBeSaved(newCfg *model.Config) (*model.Config, error) {
	if p.core == nil || newCfg == nil {
		return nil, nil
	}
	_, err := p.normalize(newCfg.PluginSettings.Plugins[p.info.PluginID])
	return nil, err
}

func (p *Plugin) applyConfiguration() error {
	return p.applyConfig(p.API.GetPluginConfig())
}

func (p *Plugin) applyConfig(section map[string]any) error {
	settings, err := p.normalize(section)
	if err != nil {
		return err
	}
	p.setConfiguration(&configuration{settings: settings})
	return nil
}

// normalize has the core check the plugin's section of the configuration.
func (p *Plugin) normalize(section map[string]any) (json.RawMessage, error) {
	if section == nil {
		section = map[string]any{}
	}
	rep, err := p.callCore(context.Background(), map[string]map[string]any{"configure": {"config": section}}, nil)
	if err != nil {
		return nil, err
	}
	if rep.Kind == "invalid_settings" {
		return nil, errors.New(rep.Message)
	}
	return rep.Settings, nil
}
