// mattermost-socket-mode: the public API. The events' and answers' types are in events.d.ts.

import type {Client4} from '@mattermost/client';
import type {Post} from '@mattermost/types/posts';
import type {UserProfile} from '@mattermost/types/users';
import type {
    ActionAnswer, ActionEvent, CommandAnswer, CommandEvent, DialogAnswer, DialogLookupEvent,
    DialogRefreshEvent, DialogSubmissionEvent, LookupAnswer, SubscribedEvent,
} from './events.js';

export * from './events.js';

/** The plugin's id. */
export const PLUGIN_ID: 'mattermost-plugin-interactive-message-actions-to-websocket-proxy';
/** Where an action's `integration.url` points so that its clicks reach the bot. */
export const HANDLER_PATH: string;

/** An expansion level (SPEC §13). */
export type ExpandLevel = 'none' | 'summary' | 'all';

/** What every event should carry in `proxy.expanded`. */
export interface ExpandOptions {
    acting_user?: ExpandLevel;
    channel?: ExpandLevel;
    team?: ExpandLevel;
    post?: ExpandLevel;
    root_post?: ExpandLevel;
    locale?: boolean;
}

/** Where the library writes what it does. console fits. */
export interface Logger {
    debug(...parts: unknown[]): void;
    info(...parts: unknown[]): void;
    warn(...parts: unknown[]): void;
    error(...parts: unknown[]): void;
}

export interface AppOptions {
    /** The server's address: `https://chat.example.com`. */
    url: string;
    /** The bot's access token. */
    token: string;
    /** What every event should carry in `proxy.expanded` (nothing by default). */
    expand?: ExpandOptions;
    /**
     * The remedy for Mattermost's Nagle stall: TCP_NODELAY on the bot's socket and a websocket
     * pong after every message received, so that the next event is not held ~40 ms. Default true.
     */
    nagleRemedy?: boolean;
    /** How many recent event ids are remembered to handle each event once. Default 10,000. */
    remember?: number;
    /** Reconnection delays, doubling from `initialMs` to `maxMs`, each jittered within its upper half. Default 500 ms, 30 s. */
    backoff?: {initialMs?: number; maxMs?: number};
    /** How long stop() waits for the handlers under way before it closes anyway. Default 10,000 ms. */
    stopTimeoutMs?: number;
    /** Where the library logs. Default: stderr, from `logLevel` up. */
    logger?: Logger;
    /** The default logger's least severe level. Default "info". */
    logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

/** The kinds of events handlers receive. */
export type EventKind = 'action' | 'command' | 'dialog_submission' | 'dialog_lookup' | 'dialog_refresh';

/** What a handler gets besides its event. */
export interface HandlerContext<Answer> {
    /** The app: its helpers (`openDialog`, `post`, …) and `client` (Client4). */
    app: App;
    /** What kind of event this is. */
    kind: EventKind;
    /** A menu's choice (`context.selected_option`); undefined for anything else. */
    value: string | undefined;
    /**
     * Acknowledges the event at once with this answer (or none), before the handler finishes:
     * the person gets the answer while the handler goes on. Then the handler returns nothing.
     */
    ack(answer?: Answer): void;
}

type Returns<T> = T | undefined | null | void | Promise<T | undefined | null | void>;

/** A dialog definition (Mattermost's Dialog): returned from a dialog or refresh handler, shown next. */
export interface DialogDefinition {
    callback_id?: string;
    title: string;
    elements?: Array<Record<string, unknown>>;
    [key: string]: unknown;
}

/** A lookup item, or a string (its own text and value). */
export type LookupItem = {text?: string; value: string} | string;

export type ActionHandler = (event: ActionEvent, ctx: HandlerContext<ActionAnswer | string>) => Returns<ActionAnswer | string>;
export type DialogHandler = (event: DialogSubmissionEvent, ctx: HandlerContext<DialogAnswer | DialogDefinition>) => Returns<DialogAnswer | DialogDefinition>;
export type LookupHandler = (event: DialogLookupEvent, ctx: HandlerContext<LookupAnswer | LookupItem[]>) => Returns<LookupAnswer | LookupItem[]>;
export type RefreshHandler = (event: DialogRefreshEvent, ctx: HandlerContext<DialogAnswer | DialogDefinition>) => Returns<DialogAnswer | DialogDefinition>;
export type CommandHandler = (event: CommandEvent, ctx: HandlerContext<CommandAnswer | string>) => Returns<CommandAnswer | string>;
export type AnyEvent = ActionEvent | CommandEvent | DialogSubmissionEvent | DialogLookupEvent;
export type CatchAllHandler = (event: AnyEvent, ctx: HandlerContext<unknown>) => Returns<unknown>;

/** A websocket message as Mattermost sends it. */
export interface WebSocketMessage {
    event: string;
    data: Record<string, unknown>;
    broadcast?: Record<string, unknown>;
    seq: number;
}

/** How a slash command shows in Mattermost's autocomplete. */
export interface CommandOptions {
    description?: string;
    hint?: string;
    displayName?: string;
    /** Default true. */
    autocomplete?: boolean;
}

/** A slash command as the plugin keeps it. */
export interface RegisteredCommand {
    trigger: string;
    display_name?: string;
    description?: string;
    hint?: string;
    autocomplete?: boolean;
    [key: string]: unknown;
}

/** A button or a menu, built by `button()` or `menu()`. */
export interface Action {
    id: string;
    name: string;
    type: 'button' | 'select';
    style?: string;
    options?: Array<{text: string; value: string}>;
    data_source?: 'users' | 'channels';
    default_option?: string;
    integration: {url: string; context: Record<string, unknown>};
}

/** A message attachment (Slack's), the part of a post that holds actions. */
export interface Attachment {
    actions?: Array<Action | Record<string, unknown>>;
    [key: string]: unknown;
}

/** The plugin's lint: every problem that would make a click fail, and each action's event. */
export interface LintResult {
    findings: Array<{path: string; severity: string; code: string; [key: string]: unknown}>;
    previews: Array<Record<string, unknown>>;
}

export class App {
    constructor(options: AppOptions);
    /** The REST client, signed in as the bot. */
    readonly client: Client4;
    /** The bot's user id, once start() has begun. */
    readonly botUserId: string;
    /** The bot's account, once start() has begun. */
    readonly me: UserProfile | undefined;
    /**
     * What became of each slash command's registration, by trigger (set by start(), or at once
     * for a command added later): the command as the plugin keeps it, or the PluginError that
     * refused it (`command_taken`, …). A refused command does not stop the bot.
     */
    readonly commands: ReadonlyMap<string, {command?: RegisteredCommand; error?: PluginError | Error}>;

    /** A click on a button or a menu choice, by action id (`context.action_id`) or by context keys. */
    action(actionId: string | Record<string, unknown>, handler: ActionHandler): this;
    /** A menu choice (the handler's `ctx.value`), by action id or context keys. */
    menu(actionId: string | Record<string, unknown>, handler: ActionHandler): this;
    /** A dialog submitted, or cancelled (`event.cancelled`), by callback_id. */
    dialog(callbackId: string, handler: DialogHandler): this;
    /** A dynamic select's lookup, by callback_id, and the field if given. */
    lookup(callbackId: string, handler: LookupHandler): this;
    lookup(callbackId: string, field: string, handler: LookupHandler): this;
    /** A dialog field refresh, by callback_id: return the new form. */
    refresh(callbackId: string, handler: RefreshHandler): this;
    /** A slash command, registered with the plugin when the app starts. */
    command(trigger: string, handler: CommandHandler): this;
    command(trigger: string, options: CommandOptions, handler: CommandHandler): this;
    /** Every event no other handler matched. */
    catchAll(handler: CatchAllHandler): this;
    /** Every websocket message, as received (Mattermost's own events too). */
    onWebSocketEvent(listener: (message: WebSocketMessage) => void | Promise<void>): this;

    /** Checks the token, registers the commands, connects, subscribes: resolves once subscribed. */
    start(): Promise<SubscribedEvent>;
    /** Stops cleanly: no more events, the handlers under way finish and are acknowledged. */
    stop(): Promise<void>;
    /**
     * start() (unless called already), then run until SIGINT or SIGTERM, then stop(); resolves
     * then, also when stopped before the server was reached. Rejects when start() fails
     * otherwise (a refused token or subscription).
     */
    run(): Promise<void>;

    /** Opens a dialog through the plugin with the event's trigger (a click's or a command's). */
    openDialog(event: {trigger_id: string; proxy?: {trigger_token?: string}}, dialog: DialogDefinition): Promise<{session_id: string; expires_at: number}>;
    /** An ephemeral message through the plugin: its buttons are verified. */
    sendEphemeral(userId: string, channelId: string, message: string,
        options?: {props?: Record<string, unknown>; attachments?: Attachment[]; rootId?: string}): Promise<{post_id: string}>;
    /** Posts as the bot; every action is pointed at the plugin and names the bot. */
    post(channelId: string, message: string,
        options?: {actions?: Action[]; attachments?: Attachment[]; props?: Record<string, unknown>; rootId?: string}): Promise<Post>;
    /** Asks the plugin what would make the post's buttons fail. */
    lint(post: {message?: string; props?: Record<string, unknown>; user_id?: string; [key: string]: unknown}): Promise<LintResult>;
    /** The bot's slash commands. */
    listCommands(): Promise<RegisteredCommand[]>;
    /** Removes a slash command (and stops registering it). */
    removeCommand(trigger: string): Promise<void>;
}

/** A button whose clicks reach `app.action(id)`. The id: letters and digits only. */
export function button(id: string, name: string, options?: {style?: 'default' | 'primary' | 'danger' | 'good' | 'warning' | 'success' | string; context?: Record<string, unknown>}): Action;

/** A menu whose choices reach `app.menu(id)`: static options, or Mattermost's users or channels. */
export function menu(id: string, name: string, options: Array<{text: string; value: string}> | 'users' | 'channels',
    more?: {context?: Record<string, unknown>; defaultOption?: string}): Action;

/** The plugin refused a request (`code` is its stable error code), or could not be reached. */
export class PluginError extends Error {
    /** The plugin's code (`trigger_expired`, `command_taken`, …), `http_<status>`, or `unreachable`. */
    readonly code: string;
    /** The HTTP status; 0 when unreachable or refused on the websocket. */
    readonly status: number;
    /** The whole answer. */
    readonly body: unknown;
    /** For a slash command the plugin refused to register when the app started: its trigger. */
    readonly trigger: string | undefined;
}
