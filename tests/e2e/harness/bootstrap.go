package harness

import (
	"context"
	"fmt"

	"github.com/mattermost/mattermost/server/public/model"
)

// Fixed names of the bootstrapped objects (the database is fresh every run).
const (
	AdminUsername = "sysadmin"
	AdminPassword = "Sysadmin-e2e-1"
	UserPassword  = "User-e2e-pass-1"
	TeamName      = "e2e"
	ChannelName   = "e2e-actions"
)

// UserNames and BotNames are the usernames of Users and Bots.
var (
	UserNames = []string{"alice", "bob"}
	BotNames  = []string{"actionbot", "otherbot"}
)

func respErr(what string, resp *model.Response, err error) error {
	if err == nil {
		return nil
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	return fmt.Errorf("%s: HTTP %d: %w", what, status, err)
}

// Bootstrap creates, through the REST API: the admin (the first user of a
// fresh server becomes system admin), a team, an open channel, two regular
// users and two bots (members of both), and an access token for each bot.
func (e *Env) Bootstrap(ctx context.Context) error {
	anon := model.NewAPIv4Client(e.SiteURL)
	admin, resp, err := anon.CreateUser(ctx, &model.User{
		Username: AdminUsername, Email: AdminUsername + "@example.com", Password: AdminPassword,
	})
	if err != nil {
		return respErr("create admin", resp, err)
	}
	e.Admin, err = e.login(ctx, admin.Username, AdminPassword)
	if err != nil {
		return err
	}
	if !e.Admin.User.IsSystemAdmin() {
		return fmt.Errorf("first user %q did not become system admin (roles %q)", admin.Username, e.Admin.User.Roles)
	}
	ac := e.Admin.Client

	e.Team, resp, err = ac.CreateTeam(ctx, &model.Team{
		Name: TeamName, DisplayName: "E2E", Type: model.TeamOpen,
	})
	if err != nil {
		return respErr("create team", resp, err)
	}
	e.Channel, resp, err = ac.CreateChannel(ctx, &model.Channel{
		TeamId: e.Team.Id, Name: ChannelName, DisplayName: "E2E actions", Type: model.ChannelTypeOpen,
	})
	if err != nil {
		return respErr("create channel", resp, err)
	}
	join := func(userID string) error { return e.Join(ctx, userID) }

	e.Users = nil
	for _, name := range UserNames {
		u, resp, err := ac.CreateUser(ctx, &model.User{
			Username: name, Email: name + "@example.com", Password: UserPassword,
		})
		if err != nil {
			return respErr("create user "+name, resp, err)
		}
		if err := join(u.Id); err != nil {
			return err
		}
		acc, err := e.login(ctx, name, UserPassword)
		if err != nil {
			return err
		}
		e.Users = append(e.Users, acc)
	}

	e.Bots = nil
	for _, name := range BotNames {
		acc, err := e.CreateBot(ctx, name)
		if err != nil {
			return err
		}
		if err := join(acc.ID()); err != nil {
			return err
		}
		e.Bots = append(e.Bots, acc)
	}
	e.Logf("bootstrapped: admin %s, team %s, channel %s, users %v, bots %v",
		AdminUsername, TeamName, ChannelName, UserNames, BotNames)
	return nil
}

// CreateBot creates a bot owned by the admin (POST /api/v4/bots) and a
// personal access token for it (POST /api/v4/users/{bot_id}/tokens). It does
// not add the bot to any team or channel.
func (e *Env) CreateBot(ctx context.Context, username string) (*Account, error) {
	ac := e.Admin.Client
	bot, resp, err := ac.CreateBot(ctx, &model.Bot{
		Username: username, DisplayName: username, Description: "e2e test bot",
	})
	if err != nil {
		return nil, respErr("create bot "+username, resp, err)
	}
	tok, resp, err := ac.CreateUserAccessToken(ctx, bot.UserId, "e2e")
	if err != nil {
		return nil, respErr("create token for bot "+username, resp, err)
	}
	c := e.NewClient(tok.Token)
	u, resp, err := c.GetMe(ctx, "")
	if err != nil {
		return nil, respErr("bot "+username+" GetMe", resp, err)
	}
	return &Account{User: u, Token: tok.Token, Client: c}, nil
}

// Join adds a user to the e2e team and channel.
func (e *Env) Join(ctx context.Context, userID string) error {
	ac := e.Admin.Client
	if _, resp, err := ac.AddTeamMember(ctx, e.Team.Id, userID); err != nil {
		return respErr("add team member "+userID, resp, err)
	}
	if _, resp, err := ac.AddChannelMember(ctx, e.Channel.Id, userID); err != nil {
		return respErr("add channel member "+userID, resp, err)
	}
	return nil
}

// NewBot is CreateBot plus Join: a bot of a test's own, able to post in the e2e channel.
func (e *Env) NewBot(ctx context.Context, username string) (*Account, error) {
	acc, err := e.CreateBot(ctx, username)
	if err != nil {
		return nil, err
	}
	return acc, e.Join(ctx, acc.ID())
}

func (e *Env) login(ctx context.Context, username, password string) (*Account, error) {
	c := model.NewAPIv4Client(e.SiteURL)
	u, resp, err := c.Login(ctx, username, password)
	if err != nil {
		return nil, respErr("login "+username, resp, err)
	}
	return &Account{User: u, Password: password, Token: c.AuthToken, Client: c}, nil
}
