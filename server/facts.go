package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
)

// gatherFacts answers the core's questions through the plugin API, concurrently (each is an
// RPC round trip to the server), returning the answers in the order asked.
func (p *Plugin) gatherFacts(queries []factQuery) []json.RawMessage {
	answers := make([]json.RawMessage, len(queries))
	var wg sync.WaitGroup
	for i, q := range queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = p.answer(q)
		}()
	}
	wg.Wait()
	return answers
}

func (p *Plugin) answer(q factQuery) json.RawMessage {
	switch q.Fact {
	case "post":
		post, appErr := p.API.GetPost(q.PostID)
		return answerFrom(post, appErr)
	case "user":
		user, appErr := p.API.GetUser(q.UserID)
		return answerFrom(user, appErr)
	case "channel_permission":
		permission := permissionByID(q.Permission)
		if permission == nil {
			return answerFailed(fmt.Errorf("unknown permission %q", q.Permission))
		}
		return answerFound(p.API.HasPermissionToChannel(q.UserID, q.ChannelID, permission))
	default:
		return answerFailed(fmt.Errorf("unknown fact %q", q.Fact))
	}
}

// answerFrom turns a plugin API result into an answer: Mattermost's 404 is "not found",
// any other error is a failure the core reports as "try again".
func answerFrom(value any, appErr *model.AppError) json.RawMessage {
	switch {
	case appErr == nil:
		return answerFound(value)
	case appErr.StatusCode == http.StatusNotFound:
		return answerNotFound
	default:
		return answerFailed(appErr)
	}
}

func permissionByID(id string) *model.Permission {
	for _, permission := range model.AllPermissions {
		if permission.Id == id {
			return permission
		}
	}
	return nil
}
