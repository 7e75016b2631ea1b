package main

import (
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/segmentio/encoding/json"
)

// MessageWillBePosted lets the core sign the post's buttons (SPEC §10), or refuse the post.
func (p *Plugin) MessageWillBePosted(_ *plugin.Context, post *model.Post) (*model.Post, string) {
	return p.postWillBeSaved(post, false)
}

// MessageWillBeUpdated signs an edited post's buttons again (a signature covers the exact
// context, so an edit that changes it needs a new one).
func (p *Plugin) MessageWillBeUpdated(_ *plugin.Context, newPost, _ *model.Post) (*model.Post, string) {
	post, rejection := p.postWillBeSaved(newPost, true)
	// Unlike MessageWillBePosted, Mattermost reads a nil post from this hook as a rejection
	// (app/post.go: UpdatePost fails "Post rejected by plugin."): an edit left as it is goes
	// back as it came.
	if post == nil && rejection == "" {
		return newPost, ""
	}
	return post, rejection
}

func (p *Plugin) postWillBeSaved(post *model.Post, edited bool) (*model.Post, string) {
	// Plumbing, not a decision: only attachments can hold buttons, and most posts have none,
	// so they go through without a core call.
	if post == nil || post.GetProp(model.PostPropsAttachments) == nil {
		return nil, ""
	}
	data, err := json.Marshal(post)
	if err != nil {
		p.API.LogError("a post about to be saved could not be read; saved unsigned", "error", err.Error())
		return nil, ""
	}
	rep := p.hookReply(input{PostWillBeSaved: &postToSave{Post: data, Edited: edited}})
	if rep == nil || rep.Reply == nil || rep.Reply.Post == nil {
		return nil, ""
	}
	if rep.Reply.Post.Rejection != "" {
		return nil, rep.Reply.Post.Rejection
	}
	if len(rep.Reply.Post.Post) == 0 {
		return nil, ""
	}
	var signed model.Post
	if err := json.Unmarshal(rep.Reply.Post.Post, &signed); err != nil {
		p.API.LogError("the core's signed post is unreadable; saved unsigned", "error", err.Error())
		return nil, ""
	}
	// The props cross a gob-encoded RPC back to the server; see gobSafe.
	if props, ok := gobSafe(map[string]any(signed.GetProps())).(map[string]any); ok {
		signed.SetProps(props)
	}
	return &signed, ""
}

// MessageHasBeenPosted lets the core remember a post with signed buttons as saved.
func (p *Plugin) MessageHasBeenPosted(_ *plugin.Context, post *model.Post) {
	if post == nil || post.GetProp(model.PostPropsAttachments) == nil {
		return
	}
	p.postSaved(post, false)
}

// MessageHasBeenUpdated is MessageHasBeenPosted for an edit, also of a post whose attachments
// the edit removed: every node that holds a copy of it must forget the copy.
func (p *Plugin) MessageHasBeenUpdated(_ *plugin.Context, newPost, oldPost *model.Post) {
	// Plumbing, as in postWillBeSaved: only a post that has or had attachments ever held buttons.
	if newPost == nil || (newPost.GetProp(model.PostPropsAttachments) == nil &&
		(oldPost == nil || oldPost.GetProp(model.PostPropsAttachments) == nil)) {
		return
	}
	p.postSaved(newPost, true)
}

// MessageHasBeenDeleted lets the core forget a deleted post.
func (p *Plugin) MessageHasBeenDeleted(_ *plugin.Context, post *model.Post) {
	if post == nil || post.GetProp(model.PostPropsAttachments) == nil {
		return
	}
	p.hook(input{PostDeleted: &postDeleted{PostID: post.Id}})
}

func (p *Plugin) postSaved(post *model.Post, edited bool) {
	data, err := json.Marshal(post)
	if err != nil {
		return
	}
	p.hook(input{PostSaved: &postSaved{Post: data, Edited: edited}})
}
