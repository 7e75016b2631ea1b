// The data of every event the plugin sends a bot, and of what a bot answers, as TypeScript types.
// Written by hand from docs/schemas/*.schema.json; test/types.test.js fails when a type and its
// schema disagree (a field missing on either side, optional on one and required on the other, or
// of another kind). Fields are named as on the wire.

/** A Mattermost id: 26 lowercase letters and digits. */
export type Id = string;

/** How an event is being delivered, for a bot that subscribed: acknowledge every event that has it. */
export interface Delivery {
    /** 1 for the first sending; more when the event is sent again (same `proxy.event_id`). */
    attempt: number;
    /** Always "required". */
    ack: 'required';
    /** How long the person waits for the answer, from `first_sent_at`; 0 when nobody waits. */
    answer_within_ms: number;
    /** When the event was first sent, milliseconds since the Unix epoch. */
    first_sent_at: number;
    /**
     * Why the event comes again (attempt > 1): the bot was offline, did not answer in time, its
     * connection went away, or the plugin restarted. Announced by the plugin, not yet sent by
     * every version: absent on a first sending and from older plugins.
     */
    reason?: 'offline' | 'not_answered' | 'connection_lost' | 'restarted';
}

/** What the plugin adds to every event, under `proxy`. */
export interface Proxy {
    /** Unique per event, the same on every attempt: the library handles an event once by it. */
    event_id: Id;
    /** When the plugin received what happened, milliseconds since the Unix epoch. */
    received_at: number;
    /** Whether the plugin checked it (a click against its post or its signature). */
    verified: boolean;
    /** The plugin's version. */
    version: string;
    /** Present for a bot that subscribed (the library always does). */
    delivery?: Delivery;
    /** What the subscription asked to be expanded (the `expand` option of `App`). */
    expanded?: Expanded;
    /**
     * Until when the event's `trigger_id` can open a dialog, milliseconds since the Unix epoch.
     * Announced by the plugin, not yet sent by every version.
     */
    trigger_expires_at?: number;
    /**
     * Sent back with the trigger when opening a dialog (`App.openDialog` does it), so that the
     * dialog opens on any node of a cluster. Announced by the plugin, not yet sent by every version.
     */
    trigger_token?: string;
}

/** The proxy of an event the plugin made itself (a submission, lookup or command): always verified. */
export interface VerifiedProxy extends Proxy {
    verified: true;
}

/** The action's `integration.context` as the bot posted it; for a menu, plus `selected_option`. */
export interface ActionContext {
    /** The bot that receives the click: the bot that posted the message. */
    user_id: Id;
    /** A menu's choice: an option's `value`, or a user's or channel's id. */
    selected_option?: string;
    /** The rest of the context is the bot's own (the library's builders put `action_id` here). */
    [key: string]: unknown;
}

/** A click on a button, or a menu choice (`custom_<id>_action`). */
export interface ActionEvent {
    /** Who clicked. */
    user_id: Id;
    /** Their username, as Mattermost sent it. */
    user_name: string;
    channel_id: Id;
    channel_name: string;
    /** Empty in a direct or group message. */
    team_id: string;
    /** Empty in a direct or group message. */
    team_domain: string;
    /** The message clicked. */
    post_id: Id;
    /** Opens a dialog (`App.openDialog`), for a short time. */
    trigger_id: string;
    /** "button" or "select" ("" for an action posted without a type). */
    type: string;
    /** "users" or "channels" for those menus, "" otherwise. */
    data_source: string;
    context: ActionContext;
    proxy: Proxy;
    /** A key a newer Mattermost adds is passed through. */
    [key: string]: unknown;
}

/** A dialog submitted, or cancelled (`custom_<id>_dialog_submission`); also a field refresh (`_dialog_refresh`). */
export interface DialogSubmissionEvent {
    callback_id: string;
    state: string;
    /** Each field's value by name, checked against the definition; empty when cancelled. */
    submission: Record<string, unknown>;
    user_id: Id;
    user_name: string;
    channel_id: string;
    team_id: string;
    /** True for a cancellation of a `notify_on_cancel` dialog. */
    cancelled: boolean;
    proxy: VerifiedProxy;
}

/** A dialog field marked `refresh` changed: the submission's shape, values unchecked. */
export type DialogRefreshEvent = DialogSubmissionEvent;

/** The person types in a dynamic select of a dialog the bot opened (`custom_<id>_dialog_lookup`). */
export interface DialogLookupEvent {
    callback_id: string;
    state: string;
    /** The name of the select being filled. */
    selected_field: string;
    /** What the person typed so far (may be empty). */
    query: string;
    /** The other fields' values so far, unchecked. */
    submission: Record<string, unknown>;
    user_id: Id;
    channel_id: string;
    team_id: string;
    proxy: VerifiedProxy;
}

/** A slash command the bot registered, typed by someone (`custom_<id>_command`). */
export interface CommandEvent {
    /** The whole command as typed: `/deploy prod --now`. */
    command: string;
    /** Its trigger, lowercase, without the slash. */
    trigger: string;
    /** What follows the trigger, trimmed (empty when nothing does). */
    text: string;
    user_id: Id;
    user_name: string;
    channel_id: Id;
    team_id: string;
    /** The thread it was typed in; empty outside one. */
    root_id: string;
    /** Opens one dialog within a few seconds. */
    trigger_id: string;
    proxy: VerifiedProxy;
}

/** The plugin took a connection's subscription (`custom_<id>_subscribed`). */
export interface SubscribedEvent {
    connection_id: string;
    /** How long a click waits for the bot's answer (0: nobody waits). */
    answer_window_ms: number;
    /** How many kept events follow, oldest first. */
    kept: number;
    /** The expansions in force for the bot. */
    expand: ExpandEcho;
}

/** The expansions in force, as the plugin echoes them. */
export interface ExpandEcho {
    acting_user?: 'summary' | 'all';
    channel?: 'summary' | 'all';
    team?: 'summary' | 'all';
    post?: 'summary' | 'all';
    root_post?: 'summary' | 'all';
    locale?: true;
}

/** A connection unsubscribed (`custom_<id>_unsubscribed`). */
export interface UnsubscribedEvent {
    connection_id: string;
}

/** The plugin (re)started and asks every bot to subscribe again (`custom_<id>_resubscribe`). */
export interface ResubscribeEvent {
    reason: string;
}

/** A message the bot sent was refused (`custom_<id>_error`). */
export interface ErrorEvent {
    /** The refused action, without its prefix: subscribe, unsubscribe, ack. */
    action: string;
    seq: number;
    /** For a refused acknowledgement, the event it named. */
    event_id?: string;
    error: {code: string; message: string};
}

/** What became of an acknowledgement (`custom_<id>_ack_result`, and the answer of a REST ack). */
export interface AckResultEvent {
    event_id: Id;
    status: 'applied' | 'applied_late' | 'too_late' | 'duplicate';
}

/** An acknowledgement: on the websocket (`custom_<id>_ack`) or `POST /api/v1/ack`. */
export interface Ack {
    event_id: Id;
    answer?: ActionAnswer | DialogAnswer | LookupAnswer | CommandAnswer;
    /** On the websocket only: ask for `ack_result` (the library never does: see its README). */
    result?: boolean;
}

/** The answer to a click, as an HTTP integration answers one (Mattermost's PostActionIntegrationResponse). */
export interface ActionAnswer {
    /** The clicked post, changed (message and props); without props it keeps its buttons. */
    update?: Record<string, unknown> | null;
    /** Shown to the person who clicked, alone. */
    ephemeral_text?: string;
    skip_slack_parsing?: boolean;
}

/** The answer to a dialog submission (Mattermost's SubmitDialogResponse); `{}` closes the dialog. */
export interface DialogAnswer {
    /** Field name → text shown beside it; the dialog stays open. */
    errors?: Record<string, string>;
    /** Text shown above the fields; the dialog stays open. */
    error?: string;
    type?: '' | 'ok' | 'form';
    /** With `type: "form"`: the next form (a dialog definition). */
    form?: Record<string, unknown>;
}

/** The answer to a lookup: the menu's items (at most 500; `text` defaults to `value`). */
export interface LookupAnswer {
    items?: Array<{text?: string; value: string}>;
}

/** The answer to a slash command (Mattermost's CommandResponse, reduced). */
export interface CommandAnswer {
    /** "ephemeral" (the default): to the person alone; "in_channel": posted by the plugin as the bot. */
    response_type?: '' | 'ephemeral' | 'in_channel';
    text?: string;
    attachments?: Array<Record<string, unknown>> | null;
    skip_slack_parsing?: boolean;
}

/** `proxy.expanded`: the entities the bot would otherwise fetch, as the REST API shows them to it. */
export interface Expanded {
    /** Who clicked, submitted, typed the command or the query. */
    acting_user?: ExpandedUser;
    channel?: ExpandedChannel;
    /** Absent in direct and group messages. */
    team?: ExpandedTeam;
    /** The post clicked (stored posts only). */
    post?: ExpandedPost;
    /** The thread's first post. */
    root_post?: ExpandedPost;
    /** The acting user's language, or the server's default. */
    locale?: string;
    /** Each entity asked for but left out, with the reason. */
    errors?: Partial<Record<'acting_user' | 'channel' | 'team' | 'post' | 'root_post' | 'locale', string>>;
}

/** A user as `GET /api/v4/users/{id}` shows it to the bot. */
export interface ExpandedUser {
    id: string;
    username: string;
    nickname?: string;
    first_name?: string;
    last_name?: string;
    email?: string;
    position?: string;
    locale?: string;
    timezone?: Record<string, unknown>;
    roles?: string;
    is_bot?: boolean;
    bot_description?: string;
    delete_at?: number;
    create_at?: number;
    update_at?: number;
    auth_data?: string;
    auth_service?: string;
    props?: Record<string, unknown>;
    notify_props?: Record<string, unknown>;
    failed_attempts?: number;
    last_picture_update?: number;
    last_activity_at?: number;
    mfa_active?: boolean;
    remote_id?: string;
    bot_last_icon_update?: number;
    disable_welcome_email?: boolean;
    terms_of_service_id?: string;
    terms_of_service_create_at?: number;
    [key: string]: unknown;
}

/** A channel as `GET /api/v4/channels/{id}` shows it to the bot. */
export interface ExpandedChannel {
    id: string;
    team_id?: string;
    /** O public, P private, D direct, G group. */
    type: 'O' | 'P' | 'D' | 'G';
    name?: string;
    display_name?: string;
    header?: string;
    purpose?: string;
    delete_at?: number;
    create_at?: number;
    update_at?: number;
    creator_id?: string;
    last_post_at?: number;
    last_root_post_at?: number;
    total_msg_count?: number;
    total_msg_count_root?: number;
    extra_update_at?: number;
    scheme_id?: unknown;
    props?: unknown;
    group_constrained?: unknown;
    shared?: unknown;
    policy_id?: unknown;
    banner_info?: unknown;
    autotranslation?: boolean;
    default_category_name?: string;
    [key: string]: unknown;
}

/** A team as `GET /api/v4/teams/{id}` shows it to the bot. */
export interface ExpandedTeam {
    id: string;
    name: string;
    display_name?: string;
    /** O open, I invite only. */
    type?: 'O' | 'I';
    description?: string;
    delete_at?: number;
    email?: string;
    invite_id?: string;
    allow_open_invite?: boolean;
    allowed_domains?: string;
    company_name?: string;
    create_at?: number;
    update_at?: number;
    last_team_icon_update?: number;
    scheme_id?: unknown;
    group_constrained?: unknown;
    policy_id?: unknown;
    cloud_limits_archived?: boolean;
    [key: string]: unknown;
}

/** A post as `GET /api/v4/posts/{id}` shows it to the bot, without its actions' integrations. */
export interface ExpandedPost {
    id: string;
    user_id?: string;
    channel_id?: string;
    root_id?: string;
    type?: string;
    message: string;
    create_at?: number;
    update_at?: number;
    edit_at?: number;
    delete_at?: number;
    props?: unknown;
    hashtags?: string;
    file_ids?: unknown;
    pending_post_id?: string;
    is_pinned?: boolean;
    reply_count?: number;
    last_reply_at?: number;
    participants?: unknown;
    has_reactions?: boolean;
    original_id?: string;
    remote_id?: string;
    [key: string]: unknown;
}
