package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"reflect"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/hashicorp/yamux"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// How a request reaches the plugin. Mattermost calls a plugin's ServeHTTP over RPC and hands it
// the request's body and response writer as two streams of their own, each opened by the plugin
// (a MuxBroker Dial: one round trip between the server's process and the plugin's). The RPC
// server Mattermost's plugin package serves for a plugin's hooks opens them one after the
// other, the writer's first, before the plugin sees the request; then the first Read of the
// body is a round trip of its own: three round trips before the plugin can read a click, every
// one before it can decide it. This process serves its hooks with Mattermost's server in every
// hook but one: ServeHTTP opens the writer's stream beside the body's, and asks for the body's
// first bytes in the same write that opens the body's stream, where Mattermost's server waits
// for the stream to be open before asking. The body comes in as the writer's stream opens: one
// round trip before the plugin reads a click instead of three, on every click, lookup,
// submission and acknowledgement over REST. Nothing else changes: the same streams, the same
// calls on them, in the same protocol as Mattermost's own (plugin.connectIOReader,
// plugin.connectHTTPResponseWriter, go-plugin's MuxBroker.Dial), and the handler runs, as
// with Mattermost's server, only once both streams are open.

// hookServer is the RPC server of Mattermost's plugin package for a plugin's hooks
// (plugin.hooksRPCServer), every method but ServeHTTP. TestHooksServerServesEveryHook checks
// that it is all of them, in the version this plugin is built with.
type hookServer interface {
	Implemented(struct{}, *[]string) error
	OnActivate(*plugin.Z_OnActivateArgs, *plugin.Z_OnActivateReturns) error
	FileWillBeUploaded(*plugin.Z_FileWillBeUploadedArgs, *plugin.Z_FileWillBeUploadedReturns) error
	MessageWillBePosted(*plugin.Z_MessageWillBePostedArgs, *plugin.Z_MessageWillBePostedReturns) error
	MessageWillBeUpdated(*plugin.Z_MessageWillBeUpdatedArgs, *plugin.Z_MessageWillBeUpdatedReturns) error
	MessagesWillBeConsumed(*plugin.Z_MessagesWillBeConsumedArgs, *plugin.Z_MessagesWillBeConsumedReturns) error
	ServeMetrics(*plugin.Z_ServeMetricsArgs, *struct{}) error
	OnDeactivate(*plugin.Z_OnDeactivateArgs, *plugin.Z_OnDeactivateReturns) error
	OnConfigurationChange(*plugin.Z_OnConfigurationChangeArgs, *plugin.Z_OnConfigurationChangeReturns) error
	ExecuteCommand(*plugin.Z_ExecuteCommandArgs, *plugin.Z_ExecuteCommandReturns) error
	UserHasBeenCreated(*plugin.Z_UserHasBeenCreatedArgs, *plugin.Z_UserHasBeenCreatedReturns) error
	UserWillLogIn(*plugin.Z_UserWillLogInArgs, *plugin.Z_UserWillLogInReturns) error
	UserHasLoggedIn(*plugin.Z_UserHasLoggedInArgs, *plugin.Z_UserHasLoggedInReturns) error
	MessageHasBeenPosted(*plugin.Z_MessageHasBeenPostedArgs, *plugin.Z_MessageHasBeenPostedReturns) error
	MessageHasBeenUpdated(*plugin.Z_MessageHasBeenUpdatedArgs, *plugin.Z_MessageHasBeenUpdatedReturns) error
	MessageHasBeenDeleted(*plugin.Z_MessageHasBeenDeletedArgs, *plugin.Z_MessageHasBeenDeletedReturns) error
	ChannelHasBeenCreated(*plugin.Z_ChannelHasBeenCreatedArgs, *plugin.Z_ChannelHasBeenCreatedReturns) error
	UserHasJoinedChannel(*plugin.Z_UserHasJoinedChannelArgs, *plugin.Z_UserHasJoinedChannelReturns) error
	UserHasLeftChannel(*plugin.Z_UserHasLeftChannelArgs, *plugin.Z_UserHasLeftChannelReturns) error
	UserHasJoinedTeam(*plugin.Z_UserHasJoinedTeamArgs, *plugin.Z_UserHasJoinedTeamReturns) error
	UserHasLeftTeam(*plugin.Z_UserHasLeftTeamArgs, *plugin.Z_UserHasLeftTeamReturns) error
	ReactionHasBeenAdded(*plugin.Z_ReactionHasBeenAddedArgs, *plugin.Z_ReactionHasBeenAddedReturns) error
	ReactionHasBeenRemoved(*plugin.Z_ReactionHasBeenRemovedArgs, *plugin.Z_ReactionHasBeenRemovedReturns) error
	OnPluginClusterEvent(*plugin.Z_OnPluginClusterEventArgs, *plugin.Z_OnPluginClusterEventReturns) error
	OnWebSocketConnect(*plugin.Z_OnWebSocketConnectArgs, *plugin.Z_OnWebSocketConnectReturns) error
	OnWebSocketDisconnect(*plugin.Z_OnWebSocketDisconnectArgs, *plugin.Z_OnWebSocketDisconnectReturns) error
	WebSocketMessageHasBeenPosted(*plugin.Z_WebSocketMessageHasBeenPostedArgs, *plugin.Z_WebSocketMessageHasBeenPostedReturns) error
	RunDataRetention(*plugin.Z_RunDataRetentionArgs, *plugin.Z_RunDataRetentionReturns) error
	OnInstall(*plugin.Z_OnInstallArgs, *plugin.Z_OnInstallReturns) error
	OnSendDailyTelemetry(*plugin.Z_OnSendDailyTelemetryArgs, *plugin.Z_OnSendDailyTelemetryReturns) error
	OnCloudLimitsUpdated(*plugin.Z_OnCloudLimitsUpdatedArgs, *plugin.Z_OnCloudLimitsUpdatedReturns) error
	ConfigurationWillBeSaved(*plugin.Z_ConfigurationWillBeSavedArgs, *plugin.Z_ConfigurationWillBeSavedReturns) error
	EmailNotificationWillBeSent(*plugin.Z_EmailNotificationWillBeSentArgs, *plugin.Z_EmailNotificationWillBeSentReturns) error
	NotificationWillBePushed(*plugin.Z_NotificationWillBePushedArgs, *plugin.Z_NotificationWillBePushedReturns) error
	UserHasBeenDeactivated(*plugin.Z_UserHasBeenDeactivatedArgs, *plugin.Z_UserHasBeenDeactivatedReturns) error
	OnSharedChannelsSyncMsg(*plugin.Z_OnSharedChannelsSyncMsgArgs, *plugin.Z_OnSharedChannelsSyncMsgReturns) error
	OnSharedChannelsPing(*plugin.Z_OnSharedChannelsPingArgs, *plugin.Z_OnSharedChannelsPingReturns) error
	PreferencesHaveChanged(*plugin.Z_PreferencesHaveChangedArgs, *plugin.Z_PreferencesHaveChangedReturns) error
	OnSharedChannelsAttachmentSyncMsg(*plugin.Z_OnSharedChannelsAttachmentSyncMsgArgs, *plugin.Z_OnSharedChannelsAttachmentSyncMsgReturns) error
	OnSharedChannelsProfileImageSyncMsg(*plugin.Z_OnSharedChannelsProfileImageSyncMsgArgs, *plugin.Z_OnSharedChannelsProfileImageSyncMsgReturns) error
	GenerateSupportData(*plugin.Z_GenerateSupportDataArgs, *plugin.Z_GenerateSupportDataReturns) error
	OnSAMLLogin(*plugin.Z_OnSAMLLoginArgs, *plugin.Z_OnSAMLLoginReturns) error
}

// httpHandler is a plugin's ServeHTTP hook.
type httpHandler interface {
	ServeHTTP(c *plugin.Context, w http.ResponseWriter, r *http.Request)
}

// servingStreamsAtOnce is the option of plugin.ClientMain that puts hooksPlugin in place of
// Mattermost's hooks plugin.
func servingStreamsAtOnce(h httpHandler) func(*goplugin.ServeConfig) error {
	return func(c *goplugin.ServeConfig) error {
		if inner, ok := c.Plugins["hooks"]; ok {
			c.Plugins["hooks"] = &hooksPlugin{inner: inner, handler: h}
		}
		return nil
	}
}

// hooksPlugin is Mattermost's hooks plugin with ServeHTTP served by hooksServer.
type hooksPlugin struct {
	inner   goplugin.Plugin
	handler httpHandler
}

// Server is the RPC server of the plugin's side. Should Mattermost's server not have the shape
// this plugin was built for, it is served as it is: every request answered, a round trip slower.
func (h *hooksPlugin) Server(b *goplugin.MuxBroker) (any, error) {
	impl, err := h.inner.Server(b)
	if err != nil {
		return nil, err
	}
	served, ok := impl.(hookServer)
	if !ok {
		return impl, nil
	}
	return &hooksServer{hookServer: served, broker: b, session: brokerSession(b), handler: h.handler}, nil
}

// Client is the server's side: Mattermost's own, unchanged (this process never uses it).
func (h *hooksPlugin) Client(b *goplugin.MuxBroker, c *rpc.Client) (any, error) {
	return h.inner.Client(b, c)
}

// hooksServer answers the hooks' RPC calls: ServeHTTP itself, every other hook through
// Mattermost's server.
type hooksServer struct {
	hookServer
	broker *goplugin.MuxBroker
	// session is the broker's connection, found once (nil: the broker has another shape).
	session *yamux.Session
	handler httpHandler
}

// ServeHTTP answers Mattermost's Plugin.ServeHTTP call as Mattermost's server does — the
// handler runs once both streams are open, and a stream that fails to open fails the call
// before it, the writer's first — with the two streams opened at once and the body asked for
// as its stream opens: the body comes in while the writer's stream opens.
func (s *hooksServer) ServeHTTP(args *plugin.Z_ServeHTTPArgs, _ *struct{}) error {
	type dialed struct {
		w   *streamWriter
		err error
	}
	r := args.Request
	writer := make(chan dialed, 1)
	go func() {
		conn, err := s.broker.Dial(args.ResponseWriterStream)
		if err != nil {
			writer <- dialed{nil, err}
			return
		}
		w := &streamWriter{client: rpc.NewClient(conn)}
		if !madeByMattermost(r.RemoteAddr) {
			// A request from the network: its response goes back over the network, as JSON
			// beside Mattermost's headers, which are fetched now, while the body comes in
			// and the core decides, rather than after. (Mattermost's own requests are
			// answered without them.)
			w.fetchHeader()
		}
		writer <- dialed{w, nil}
	}()
	var bodyErr error
	if args.RequestBodyStream != 0 {
		var conn net.Conn
		var asked int
		conn, asked, bodyErr = dialAsking(s.broker, s.session, args.RequestBodyStream, firstAsk(r))
		if bodyErr == nil {
			r.Body = &streamBody{conn: conn, owed: int64(asked)}
		}
	} else {
		r.Body = io.NopCloser(&bytes.Buffer{})
	}
	d := <-writer
	if d.err != nil {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		fmt.Fprintf(os.Stderr, "[ERROR] Can't connect to remote response writer stream, error: %v\n", d.err.Error())
		return d.err
	}
	rw := d.w
	defer rw.client.Close()
	// The headers fetched are answered before the call returns, whatever the handler wrote or
	// if it never ran: then Mattermost's side finishes the response, which may change the
	// header map its answer is read from.
	defer rw.settle()
	if bodyErr != nil {
		fmt.Fprintf(os.Stderr, "[ERROR] Can't connect to remote request body stream, error: %v\n", bodyErr.Error())
		return bodyErr
	}
	defer r.Body.Close()
	s.handler.ServeHTTP(args.Context, rw, r.GetHTTPRequest())
	return nil
}

// madeByMattermost reports whether a request is one Mattermost made itself (doPluginRequest,
// for a click, a submission, a lookup): made in the server's memory, it has no remote address;
// one over the network always has one.
func madeByMattermost(remoteAddr string) bool {
	return remoteAddr == ""
}

// firstAsk is how much of r's body is asked for as its stream opens: what the shim's first
// Read asks (readBody, bodyRead) whenever the shim will read the body — a request Mattermost
// made itself (no remote address: the body is in the server's memory), or one whose declared
// length is at most that (always under the core's limit, 1 MiB, so readBody reads it). Any
// other body is asked for only by the shim's Reads: a body declared too large is never read,
// and nobody waits for a client sending one slowly.
func firstAsk(r *plugin.HTTPRequestSubset) int {
	declared := declaredLength(r.Header)
	if (madeByMattermost(r.RemoteAddr) && declared < 0) || (declared >= 0 && declared <= bodyRead) {
		return bodyRead
	}
	return 0
}

// dialAsking opens the stream id as go-plugin's MuxBroker.Dial does — the id written on a new
// stream of the connection, the same id read back from the other end — and, in the same
// write, asks for the first ask bytes of the body (the other end's serveIOReader reads the
// size once the stream is accepted); it answers how many it asked for. Without the broker's
// session (a broker of another shape) it dials as the broker does and asks for nothing: the
// first Read asks.
func dialAsking(b *goplugin.MuxBroker, session *yamux.Session, id uint32, ask int) (net.Conn, int, error) {
	if ask == 0 || session == nil {
		conn, err := b.Dial(id)
		return conn, 0, err
	}
	stream, err := session.OpenStream()
	if err != nil {
		return nil, 0, err
	}
	msg := binary.AppendVarint(binary.LittleEndian.AppendUint32(nil, id), int64(ask))
	if _, err := stream.Write(msg); err != nil {
		_ = stream.Close()
		return nil, 0, err
	}
	var ack uint32
	if err := binary.Read(stream, binary.LittleEndian, &ack); err != nil {
		_ = stream.Close()
		return nil, 0, err
	}
	if ack != id {
		_ = stream.Close()
		return nil, 0, fmt.Errorf("bad ack: %d (expected %d)", ack, id)
	}
	return stream, ask, nil
}

var yamuxSessionType = reflect.TypeFor[*yamux.Session]()

// brokerSession is the connection's session inside go-plugin's MuxBroker (its unexported field
// `session`), or nil if the broker has another shape. TestTheBodyIsAskedForAsItsStreamOpens
// checks it in the version this plugin is built with.
func brokerSession(b *goplugin.MuxBroker) *yamux.Session {
	if b == nil {
		return nil
	}
	f := reflect.ValueOf(b).Elem().FieldByName("session")
	if !f.IsValid() || f.Type() != yamuxSessionType || f.IsNil() {
		return nil
	}
	return (*yamux.Session)(f.UnsafePointer())
}

// streamBody reads a request's body from its stream: a Read tells the server how much it may
// send, unless the server still owes bytes asked for earlier, and reads what comes
// (Mattermost's serveIOReader is the other end: it sends at most what was asked, and ends the
// stream when the body ends first).
type streamBody struct {
	conn io.ReadWriteCloser
	owed int64 // asked for and not yet read
	asks int   // the Reads that had to ask: a round trip each
}

func (b *streamBody) Read(p []byte) (int, error) {
	if b.owed <= 0 {
		var size [binary.MaxVarintLen64]byte
		n := binary.PutVarint(size[:], int64(len(p)))
		if _, err := b.conn.Write(size[:n]); err != nil {
			return 0, err
		}
		b.owed = int64(len(p))
		b.asks++
	}
	n, err := b.conn.Read(p)
	b.owed -= int64(n)
	return n, err
}

func (b *streamBody) Close() error {
	return b.conn.Close()
}

// streamWriter is the response writer over its stream, with the calls of Mattermost's
// (plugin.httpResponseWriterRPCClient: Header, SyncHeader, WriteHeader, Write, a round trip
// each) made fewer times. Mattermost's writer fetches the headers when first asked for and
// sends them before every WriteHeader and every Write: a JSON response is three round trips
// (Header, SyncHeader, Write) and a refusal five. This one sends them once, with the first
// WriteHeader or Write — after that net/http ignores changes to them, as does every writer
// Mattermost hands a plugin — and only if the handler asked for them (a handler that never
// touched them changes nothing, where Mattermost's writer would send back what it fetched, or
// an empty set that wipes the server's). And for a request from the network the headers are
// fetched as the stream opens (fetchHeader), beside the body and the core's work: a JSON
// response is then two round trips after the handler's decision (SyncHeader, Write), a
// refusal three. writeResponse calls its server's side directly for a response to
// Mattermost's own request (respond.go).
type streamWriter struct {
	client *rpc.Client
	header http.Header
	// fetching is the Header call under way, nil once its answer is in header.
	fetching *rpc.Call
	// touched: the handler asked for the headers, so it may have changed them.
	touched bool
	// sent: the headers went with a WriteHeader or a Write.
	sent bool
}

var _ http.ResponseWriter = (*streamWriter)(nil)

// fetchHeader starts asking the server for the response's headers (those Mattermost set
// before calling the plugin, which a response keeps).
func (w *streamWriter) fetchHeader() {
	w.fetching = w.client.Go("Plugin.Header", struct{}{}, &w.header, nil)
}

func (w *streamWriter) Header() http.Header {
	if w.fetching == nil && w.header == nil {
		w.fetchHeader()
	}
	w.settle()
	if w.header == nil {
		w.header = http.Header{}
	}
	w.touched = true
	return w.header
}

// settle waits for the Header call under way, if any. Nothing is written while it is: the
// server's side encodes its header map for the answer, and a writer under it may change the
// map as the response starts: at the same time, that would be a concurrent map read and write
// in the server's process. (Like any http.ResponseWriter, the writer is used by one goroutine,
// the handler's, and not after the handler returns.)
func (w *streamWriter) settle() {
	if w.fetching != nil {
		<-w.fetching.Done
		w.fetching = nil
	}
}

// sendHeader sends the headers with the response's first WriteHeader or Write, if the handler
// may have changed them. (The core answers no informational status, after which they could
// still change.)
func (w *streamWriter) sendHeader() error {
	w.settle()
	if w.sent || !w.touched {
		w.sent = true
		return nil
	}
	w.sent = true
	return w.client.Call("Plugin.SyncHeader", w.header, nil)
}

func (w *streamWriter) Write(b []byte) (int, error) {
	if err := w.sendHeader(); err != nil {
		return 0, err
	}
	if err := w.client.Call("Plugin.Write", b, nil); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (w *streamWriter) WriteHeader(status int) {
	if err := w.sendHeader(); err != nil {
		return
	}
	_ = w.client.Call("Plugin.WriteHeader", status, nil)
}
