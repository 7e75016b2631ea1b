//! Facts: what the core asks the shim to find out from Mattermost, and the answers it reads.
//!
//! Each endpoint names its facts in a struct of its own (`ClickFacts`, `SubmitFacts`, …) whose
//! fields are [`Answer`]s. The core asks for the fields still missing, each [`Query`] under the
//! field's name; the shim gathers them (concurrently) and calls again with every answer so far,
//! each under its name, beside the call document ([`Raw`]). A failure is data: Mattermost's status
//! and error id, never text to search.

mod written;

use serde::de::value::MapDeserializer;
use serde::de::{Deserializer, IntoDeserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::fmt;

/// One question for Mattermost, and the name its answer comes back under.
#[derive(Debug, Clone, Serialize)]
pub struct Query {
    /// The field of the endpoint's facts struct that the answer fills.
    pub name: &'static str,
    /// What to ask.
    #[serde(flatten)]
    pub fact: Fact,
    /// How old an answer to the same fact may be, when the shim has one: a fact that rarely
    /// changes (an account, a channel's name) need not cost a round trip on every click.
    /// Only answers that were found are kept; `None` asks Mattermost every time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_ms: Option<u32>,
    /// The top-level fields of the answer the core reads, when it reads few of a large object
    /// (a user's five of fifty): the shim keeps only those, so that neither the call nor the
    /// cache carries the rest. `None`: the whole answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<&'static [&'static str]>,
    /// The answer this query gets almost always, when the core knows it (a clicker may read the
    /// channel they clicked in): the shim may call the core with it while it asks, and act on
    /// that reply only if the real answer is exactly this one (otherwise it calls again with the
    /// real one). A round trip to the server then runs beside the core's next call instead of
    /// before it. Only for questions that change nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likely: Option<Likely>,
}

/// Queries the shim may answer before an input's first call, from what it holds (a cached
/// answer) or expects (a [`Likely`] one, asked beside the call), so that an input whose every
/// fact is at hand is decided in one call (docs/ARCHITECTURE.md, step 2). Each query is written
/// with marker ids; the shim replaces each marker with the value `fill` names, which must be a
/// Mattermost id written plainly: `user`, the `Mattermost-User-Id` header (a command's person),
/// `body.<field>[.<field>]`, a string of the JSON body's objects, or `command.team_id`, a
/// command's team. One source is not an id: `command.trigger`, a command's trigger as
/// `command::execute` reads it (the first word, its slashes left out, in ASCII lowercase),
/// filled only when it could be registered (1 to 64 of `a-z`, `0-9`, `-`, `_`, `.`). An input
/// with no such value for a marker gets nothing prefetched, unless its source ends in `?`
/// (optional: only the queries with that marker are left out). The core uses a prefetched answer only for a query
/// it asks that is, byte for byte, the filled one; anything else is never looked at, so a
/// wrong guess costs a lookup, never an outcome.
#[derive(Debug, Serialize)]
pub(crate) struct Prefetch {
    /// The HTTP path whose requests it serves, `websocket:<action>` for a websocket
    /// message's action (its data read as the body), or `command` for a slash command.
    pub(crate) path: &'static str,
    /// The shim reads no larger body for it.
    pub(crate) max_body_bytes: usize,
    /// Marker id → where its value comes from.
    pub(crate) fill: BTreeMap<&'static str, &'static str>,
    /// The queries, with markers.
    pub(crate) queries: Vec<Query>,
}

/// An answer the core expects, written as the shim writes the answer (`{"found": …}`), so that
/// the shim compares bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Likely {
    /// `{"found":true}`: a permission held.
    Granted,
    /// `{"found":[]}`: an empty list.
    Empty,
}

impl Serialize for Likely {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Self::Granted => map.serialize_entry("found", &true)?,
            Self::Empty => map.serialize_entry("found", &[(); 0])?,
        }
        map.end()
    }
}

/// How long the facts that rarely change may be served from the shim's cache. A cache may
/// delay a refusal by this much (a rename, an archived channel), never widen access: a
/// permission is never cached.
pub(crate) const RARELY_CHANGES_MS: u32 = 5_000;

/// A question the shim answers through the plugin API.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    /// `GetPost(post_id)`, answered with the post as Mattermost's JSON.
    Post {
        /// The post to load.
        post_id: String,
    },
    /// `HasPermissionToChannel(user_id, channel_id, permission)`, answered with a boolean.
    ChannelPermission {
        /// Whose permission.
        user_id: String,
        /// Which channel.
        channel_id: String,
        /// Mattermost's permission id.
        permission: &'static str,
    },
    /// `HasPermissionToChannel(user_id, channel, permission)` for each of `channel_ids`,
    /// answered with `{channel_id: boolean}`.
    ChannelPermissions {
        /// Whose permission.
        user_id: String,
        /// Which channels (a dialog's chosen ones: at most a hundred).
        channel_ids: Vec<String>,
        /// Mattermost's permission id.
        permission: &'static str,
    },
    /// `GetUser` of each of `user_ids`, answered with `{user_id: an answer}`: each user found,
    /// or Mattermost's error (a user that does not exist is its 404).
    Users {
        /// The users (a dialog's chosen ones: at most a hundred).
        user_ids: Vec<String>,
    },
    /// `HasPermissionToTeam(user_id, team_id, permission)`, answered with a boolean.
    TeamPermission {
        /// Whose permission.
        user_id: String,
        /// Which team.
        team_id: String,
        /// Mattermost's permission id.
        permission: &'static str,
    },
    /// `HasPermissionTo(user_id, permission)` (system-wide), answered with a boolean.
    SystemPermission {
        /// Whose permission.
        user_id: String,
        /// Mattermost's permission id.
        permission: &'static str,
    },
    /// The server's `PrivacySettings` and default language, answered with
    /// `{"show_email_address", "show_full_name", "default_client_locale"}`.
    PrivacySettings,
    /// `GetUser(user_id)`, answered with the user as Mattermost's JSON.
    User {
        /// The user to load.
        user_id: String,
    },
    /// `GetChannel(channel_id)`, answered with the channel as Mattermost's JSON.
    Channel {
        /// The channel to load.
        channel_id: String,
    },
    /// `GetTeam(team_id)`, answered with the team as Mattermost's JSON.
    Team {
        /// The team to load.
        team_id: String,
    },
    /// `KVGet(key)`, answered with the stored JSON, or `null` when nothing is stored.
    KvGet {
        /// The plugin's KV key.
        key: String,
    },
    /// `KVSetWithOptions(key, value, {ExpireInSeconds})`, answered with `true` once stored. An
    /// act asked as a fact, because what comes next depends on whether it succeeded.
    KvSet {
        /// The plugin's KV key.
        key: String,
        /// A JSON document.
        value: Box<RawValue>,
        /// When Mattermost drops the entry.
        expire_in_seconds: u64,
    },
    /// `KVCompareAndDelete(key, expected)`, answered with whether this call deleted it.
    KvConsume {
        /// The plugin's KV key.
        key: String,
        /// The exact stored text the key must still hold.
        expected: String,
    },
    /// `OpenInteractiveDialog(request)`, answered with `true` or Mattermost's refusal. Only
    /// trying tells whether the trigger is still valid.
    OpenDialog {
        /// Mattermost's `OpenDialogRequest`.
        request: Box<RawValue>,
    },
    /// `KVSetWithOptions(key, value, {Atomic, OldValue: nil})`: stores `value` only if nothing
    /// is stored under `key`, answered with whether this call stored it. How one of two racing
    /// writers wins a name (a slash command's trigger).
    KvCreate {
        /// The plugin's KV key.
        key: String,
        /// A JSON document.
        value: Box<RawValue>,
        /// When Mattermost drops the entry (0: never).
        expire_in_seconds: u64,
    },
    /// `KVSetWithOptions(key, value, {Atomic, OldValue: nil})` on each of `keys` in turn until
    /// one is stored: the first key that was free, answered with that key, or `null` when none
    /// was. How a registration claims one numbered slot among many (a command limit held by
    /// the claim itself). A storage primitive: which keys, in which order, is the core's.
    KvCreateAny {
        /// The plugin's KV keys, in the order to try them.
        keys: Vec<String>,
        /// A JSON document.
        value: Box<RawValue>,
        /// When Mattermost drops the entry (0: never).
        expire_in_seconds: u64,
    },
    /// `ListCustomCommands(team_id)`: the team's own slash commands with one trigger, answered
    /// with their triggers (`["deploy"]`, or `[]`), or Mattermost's refusal (501 when custom
    /// slash commands are off on the server).
    TeamCommands {
        /// The team the command was typed in.
        team_id: String,
        /// Only the commands whose trigger is this one, ignoring case (the core checks again):
        /// almost always none, which the core can then expect (see [`Query::likely`]).
        trigger: String,
    },
    /// The slash commands Mattermost already serves (`ListBuiltInCommands`, and
    /// `ListPluginCommands("")`: every plugin's, this one's included), answered with
    /// `{"built_in": [trigger, …], "plugins": [trigger, …]}`.
    MattermostCommands,
    /// `KVGet` of each key, answered with one object: each key's stored JSON, or `null`.
    KvGetMany {
        /// The plugin's KV keys.
        keys: Vec<String>,
    },
    /// `KVCompareAndSet(key, old, new)` (with the expiry), answered with whether it was set: the
    /// one way to change a document two nodes may change at once.
    KvCas {
        /// The plugin's KV key.
        key: String,
        /// The exact text the key must still hold.
        old: String,
        /// What to store instead.
        new: Box<RawValue>,
        /// When Mattermost drops the entry.
        expire_in_seconds: u64,
    },
    /// Append `item` to the list stored under `key` (`{"items": [...], "dropped": n}`),
    /// replacing an item whose `unique` field has the same value, and dropping the oldest items
    /// past `cap` (counted in `dropped`). A storage primitive, like a capped list in Redis: the
    /// shim repeats its compare-and-set until no other writer got in between. Answered with
    /// `{"dropped": [items], "len": n}`.
    ListPush {
        /// The plugin's KV key.
        key: String,
        /// A JSON object.
        item: Box<RawValue>,
        /// The field that names an item, if items are unique by it.
        unique: Option<&'static str>,
        /// The most items kept.
        cap: u32,
        /// When Mattermost drops the list (refreshed by every push).
        expire_in_seconds: u64,
    },
    /// Remove from the list under `key` every item whose `field` is `value`; answered with
    /// `{"removed": n, "len": n}`. The list itself stays, empty or not.
    ListRemove {
        /// The plugin's KV key.
        key: String,
        /// The field compared.
        field: &'static str,
        /// The value that removes an item.
        value: String,
        /// The list's expiry from now on (Mattermost cannot keep the one it had).
        expire_in_seconds: u64,
    },
    /// Wait for the bot's answer to `event_id` until `until_ms`, on this node: answered with
    /// the answer a [`Fact::Claim`] hands over (or a [`crate::Effect::Wake`]), or `null` when
    /// the time is up. The shim registers the wait before the round's effects (the publish)
    /// are carried out, with `held`, what an acknowledgement is told of it ([`Fact::Held`]).
    /// Once the time is up, claims fail, and [`Fact::Held`] waits until the input that waited
    /// is decided (it keeps the event first, if it is kept).
    Await {
        /// The event whose answer the click waits for.
        event_id: String,
        /// Milliseconds since the epoch.
        until_ms: u64,
        /// What an acknowledgement may know of the wait; none for a wait only the core's own
        /// messages end (a relayed acknowledgement's result).
        #[serde(skip_serializing_if = "Option::is_none")]
        held: Option<Held>,
    },
    /// What this node knows of a wait for `event_id`'s answer: answered with
    /// `{"state": "waiting" | "answered" | "ended", "bot", "event"}` (ended: the time was up),
    /// or `null` when no input waits or waited for it here lately.
    Held {
        /// The event.
        event_id: String,
    },
    /// Hands `answer` to the input waiting for `event_id` on this node, if it still waits:
    /// answered with `"claimed"`, `"answered"` (another claim won), `"ended"` (the time was up)
    /// or `"absent"`. In memory, atomic: exactly one claim or the end of the time wins.
    Claim {
        /// The event.
        event_id: String,
        /// The bot's answer, checked.
        answer: Box<RawValue>,
        /// The waiting input's decision, made with the answer, when the answer alone decides
        /// it ([`Held::decides`]): the input is then decided without a call of its own.
        #[serde(skip_serializing_if = "Option::is_none")]
        decision: Option<crate::effect::Decision>,
    },
    /// Gives the next sequence number of the queue counted under `key`
    /// ([`crate::delivery::store::QueueRange`]), dropping the oldest past `cap`: answered with
    /// `{"seq", "dropped": [from, to]}`. A storage primitive: the shim serializes the pushes of
    /// one node and repeats its compare-and-set, with jittered backoff, while other nodes get
    /// in between.
    QueuePush {
        /// The plugin's KV key of the counter.
        key: String,
        /// The most sequence numbers the queue spans.
        cap: u32,
        /// How many sequence numbers to give (`seq..seq + count`); 1 but when a 1.0 list moves.
        count: u32,
        /// When Mattermost drops the counter (refreshed by every push).
        expire_in_seconds: u64,
    },
    /// `KVSetWithOptions` of each entry (`key` → JSON document), concurrently, answered with
    /// `true` once every one is stored.
    KvSetMany {
        /// Each key and its document.
        entries: std::collections::BTreeMap<String, Box<RawValue>>,
        /// When Mattermost drops them.
        expire_in_seconds: u64,
    },
    /// Adds `by` to the count under `key` (absent counts 0, never below 0), unless that takes
    /// it past `ceiling`: answered with `{"value": n}` or `{"at_ceiling": n}` (unchanged).
    /// Serialized and retried like [`Fact::QueuePush`].
    Count {
        /// The plugin's KV key.
        key: String,
        /// The change.
        by: i64,
        /// The most the count may reach.
        ceiling: Option<u64>,
        /// When Mattermost drops the count (refreshed by every change).
        expire_in_seconds: u64,
    },
    /// `UpdatePost(post)`, answered with `true` once the post is updated.
    UpdatePost {
        /// The post as Mattermost's JSON, its `id` set.
        post: Box<RawValue>,
    },
}

/// What an input waiting for an event's answer tells an acknowledgement ([`Fact::Await`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The bot the event was sent to: the only one who may answer it.
    pub bot: crate::ids::UserId,
    /// The event's name (`action`, `dialog_lookup`, …): which answers it takes.
    pub event: String,
    /// How the answer decides the waiting input, when the answer alone decides it: the
    /// acknowledgement that hands the answer over then decides the input too, in its own call,
    /// and the input needs no call once answered. `None`: the input decides with the answer
    /// itself (it asks facts of its own, or holds what the acknowledgement does not know).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decides: Option<Decides>,
}

/// How a bot's answer decides the input that waits for it ([`Held::decides`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decides {
    /// A click on a stored post: the checked answer is the response to Mattermost.
    Click {
        /// Mattermost made the request itself (an empty answer is then written as nothing).
        internal: bool,
    },
    /// A dynamic select's lookup: the answer's items are the response to Mattermost.
    Lookup {
        /// Mattermost made the request itself.
        internal: bool,
    },
    /// A slash command: an answer shown to the person alone, without buttons, is the
    /// command's response; one posted in the channel, or with buttons to sign, is not decided
    /// by the answer alone (the command asks and signs first).
    Command,
}

/// The shim's answer to one [`Query`].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer<T> {
    /// What Mattermost answered.
    Found(T),
    /// Mattermost answered with an error.
    Failed(FactError),
}

/// Reads a field of a facts struct: missing is "not asked yet" (with `#[serde(default)]`), but a
/// present answer must be an answer. serde would read `null` as missing, and the core would ask
/// again for what the shim says it answered.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// An error from the plugin API, as data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FactError {
    /// The HTTP status Mattermost gives the error (`AppError.StatusCode`); 500 when it gave none.
    pub status: u16,
    /// Mattermost's error id (`AppError.Id`), such as `app.post.get.app_error`.
    #[serde(default)]
    pub id: String,
    /// The error as Mattermost renders it, for the log.
    #[serde(default)]
    pub message: String,
}

impl FactError {
    /// Whether Mattermost says the thing asked about does not exist.
    pub(crate) fn is_not_found(&self) -> bool {
        self.status == 404
    }
}

impl fmt::Display for FactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The answers gathered so far, each query's name with its answer's text: each facts struct
/// reads only its own answers. Read as one text, every struct (a click reads three or four)
/// skipped every other answer, a post's props included, each time.
pub type Answers<'a> = BTreeMap<&'a str, Raw<'a>>;

/// The answers gathered so far, by query name; and the answers the shim had at hand before
/// anything was asked ([`Prefetch`]), which an endpoint takes with [`Facts::take_prefetched`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a>(Option<Source<'a>>, &'a [Prefetched<'a>]);

/// One answer given before its question was asked: the answer to `query`, and to nothing
/// else.
#[derive(Debug, Clone, Copy)]
pub struct Prefetched<'a> {
    /// The exact text of the query it answers, as the core writes queries: compared byte for
    /// byte, never parsed.
    pub query: &'a [u8],
    /// The answer, as the shim writes answers.
    pub answer: Raw<'a>,
}

/// An answer's JSON text as the shim wrote it, beside the call document rather than inside it
/// (src/wire/envelope.rs): it is parsed once, by the facts struct that reads it, and checked by
/// that parse (text that is not one JSON value is an unreadable answer). Inside the document,
/// the call's own parse had to walk every answer to find its end, and then each struct parsed
/// its answers again: a sixth of a warm click's instructions.
#[derive(Debug, Clone, Copy)]
pub struct Raw<'a>(pub &'a [u8]);

impl<'a> IntoDeserializer<'a, serde_json::Error> for Raw<'a> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// Each method parses the whole text as that method would, and refuses anything after it.
macro_rules! parse_whole {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'a>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Self::Error> {
            let text = std::str::from_utf8(self.0).map_err(serde::de::Error::custom)?;
            let mut de = serde_json::Deserializer::from_str(text);
            let value = Deserializer::$method(&mut de, $($arg,)* visitor)?;
            de.end()?;
            Ok(value)
        }
    )*};
}

impl<'a> Deserializer<'a> for Raw<'a> {
    type Error = serde_json::Error;

    parse_whole! {
        deserialize_any(); deserialize_bool(); deserialize_i8(); deserialize_i16();
        deserialize_i32(); deserialize_i64(); deserialize_i128(); deserialize_u8();
        deserialize_u16(); deserialize_u32(); deserialize_u64(); deserialize_u128();
        deserialize_f32(); deserialize_f64(); deserialize_char(); deserialize_str();
        deserialize_string(); deserialize_bytes(); deserialize_byte_buf(); deserialize_option();
        deserialize_unit(); deserialize_seq(); deserialize_map(); deserialize_identifier();
        deserialize_ignored_any();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
    }
}

#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    Text(&'a str),
    Split(&'a Answers<'a>),
}

impl<'a> Facts<'a> {
    /// No answers yet (the first call for an input).
    pub fn none() -> Self {
        Self(None, &[])
    }

    /// The answers as the JSON text of one object, `{"<name>": {"found": …}, …}`.
    pub fn json(text: &'a str) -> Self {
        Self(Some(Source::Text(text)), &[])
    }

    /// The answers already split by name (what the wire form's call carries).
    pub fn answers(answers: &'a Answers<'a>) -> Self {
        Self(Some(Source::Split(answers)), &[])
    }

    /// The answers at hand before anything was asked.
    pub(crate) fn prefetched(&self) -> &'a [Prefetched<'a>] {
        self.1
    }

    /// The same answers, with `prefetched` at hand.
    pub fn with_prefetched(self, prefetched: &'a [Prefetched<'a>]) -> Self {
        Self(self.0, prefetched)
    }

    /// Answers every query of `ask` from the prefetched answers, if it can: `Ok` with the
    /// answers so far and those, to read again (its prefetched answers are left at hand for
    /// what is asked next). A query is answered only by an answer given for exactly its text;
    /// a round that acts first (`ask`'s effects) is never answered in advance. Otherwise
    /// `Err` with what is still to ask: the queries no prefetched answer answers (the shim
    /// calls again with their answers; the prefetched ones are taken again then).
    pub(crate) fn take_prefetched(&self, ask: Ask) -> Result<Answers<'a>, Ask> {
        // Answers given as one text are a test's: nothing is prefetched with them.
        let base = match self.0 {
            _ if self.1.is_empty() || !ask.1.is_empty() => return Err(ask),
            Some(Source::Text(_)) => return Err(ask),
            Some(Source::Split(answers)) => Some(answers),
            None => None,
        };
        // The shim attaches the answers in the order the core listed the queries, which is the
        // order a round asks them: each search starts after the last answer found.
        let mut next = 0;
        let found: Vec<Option<Raw<'a>>> = ask
            .0
            .iter()
            .map(|query| {
                let (earlier, rest) = self.1.split_at(next.min(self.1.len()));
                let at = rest
                    .iter()
                    .position(|p| written::is_written(query, p.query))
                    .map(|i| i + earlier.len())
                    .or_else(|| {
                        earlier
                            .iter()
                            .position(|p| written::is_written(query, p.query))
                    })?;
                next = at + 1;
                Some(self.1[at].answer)
            })
            .collect();
        if found.iter().all(Option::is_none) {
            return Err(ask);
        }
        if found.iter().any(Option::is_none) {
            let rest = ask.0.into_iter().zip(&found).filter(|(_, f)| f.is_none());
            return Err(Ask(rest.map(|(q, _)| q).collect(), Vec::new()));
        }
        let mut answers = base.cloned().unwrap_or_default();
        answers.extend(
            ask.0
                .iter()
                .zip(found)
                .filter_map(|(q, f)| Some((q.name, f?))),
        );
        Ok(answers)
    }

    /// Reads the answers into an endpoint's facts struct.
    pub(crate) fn read<T: Deserialize<'a> + Default>(&self) -> Result<T, UnreadableFacts> {
        match self.0 {
            None => Ok(T::default()),
            Some(Source::Text(text)) => serde_json::from_str(text),
            Some(Source::Split(answers)) => T::deserialize(Split(answers)),
        }
        .map_err(|e| UnreadableFacts(e.to_string()))
    }
}

/// A facts struct read from split answers: only the answers named by the struct's fields are
/// parsed; the others are never looked at.
struct Split<'a>(&'a Answers<'a>);

impl<'a> Split<'a> {
    fn visit<V: Visitor<'a>>(
        entries: impl Iterator<Item = (&'a str, Raw<'a>)>,
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        let mut map = MapDeserializer::new(entries);
        let value = visitor.visit_map(&mut map)?;
        map.end()?;
        Ok(value)
    }
}

impl<'a> Deserializer<'a> for Split<'a> {
    type Error = serde_json::Error;

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let answers = self.0;
        let entries = fields
            .iter()
            .filter_map(move |&f| answers.get_key_value(f).map(|(k, v)| (*k, *v)));
        Self::visit(entries, visitor)
    }

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        Self::visit(self.0.iter().map(|(k, v)| (*k, *v)), visitor)
    }

    serde::forward_to_deserialize_any! {
        <W: Visitor<'a>>
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The answers are not what the endpoint asked for: a shim bug, answered as an internal error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnreadableFacts(pub(crate) String);

/// The queries for the facts still missing, and what to do before gathering them.
#[derive(Debug, Default)]
pub(crate) struct Ask(Vec<Query>, Vec<crate::effect::Effect>);

impl Ask {
    /// Asks just `fact`, under `name`.
    pub(crate) fn one(name: &'static str, fact: Fact) -> Self {
        Self(
            vec![Query {
                name,
                fact,
                cache_ms: None,
                fields: None,
                likely: None,
            }],
            Vec::new(),
        )
    }

    /// The queries asked so far, without their effects.
    pub(crate) fn into_queries(self) -> Vec<Query> {
        self.0
    }

    /// Carries out `effects` before the facts are gathered (a publish before the wait for its
    /// answer).
    pub(crate) fn after(mut self, effects: Vec<crate::effect::Effect>) -> Self {
        self.1.extend(effects);
        self
    }

    /// Asks `fact` under `name` unless `answer` is in already.
    pub(crate) fn unless<T>(
        &mut self,
        answer: &Option<T>,
        name: &'static str,
        fact: impl FnOnce() -> Fact,
    ) -> &mut Self {
        self.ask(answer, name, None, fact)
    }

    /// [`Ask::unless`] for a fact that rarely changes: a recent answer will do.
    pub(crate) fn unless_cached<T>(
        &mut self,
        answer: &Option<T>,
        name: &'static str,
        fact: impl FnOnce() -> Fact,
    ) -> &mut Self {
        self.ask(answer, name, Some(RARELY_CHANGES_MS), fact)
    }

    /// [`Ask::unless`] with an answer at most `cache_ms` old (a fact whose every change is
    /// announced, so that each node forgets its copy).
    pub(crate) fn unless_cached_for<T>(
        &mut self,
        answer: &Option<T>,
        name: &'static str,
        cache_ms: u32,
        fact: impl FnOnce() -> Fact,
    ) -> &mut Self {
        self.ask(answer, name, Some(cache_ms), fact)
    }

    fn ask<T>(
        &mut self,
        answer: &Option<T>,
        name: &'static str,
        cache_ms: Option<u32>,
        fact: impl FnOnce() -> Fact,
    ) -> &mut Self {
        if answer.is_none() {
            self.0.push(Query {
                name,
                fact: fact(),
                cache_ms,
                fields: None,
                likely: None,
            });
        }
        self
    }

    /// [`Ask::unless_cached`] for a large object of which only `fields` are read.
    pub(crate) fn unless_cached_fields<T>(
        &mut self,
        answer: &Option<T>,
        name: &'static str,
        fields: &'static [&'static str],
        fact: impl FnOnce() -> Fact,
    ) -> &mut Self {
        if answer.is_none() {
            self.ask(answer, name, Some(RARELY_CHANGES_MS), fact);
            if let Some(query) = self.0.last_mut() {
                query.fields = Some(fields);
            }
        }
        self
    }

    /// [`Ask::unless`] for a question that almost always gets `likely` (never cached, and
    /// changing nothing): see [`Query::likely`].
    pub(crate) fn unless_likely<T>(
        &mut self,
        answer: &Option<T>,
        name: &'static str,
        likely: Likely,
        fact: impl FnOnce() -> Fact,
    ) -> &mut Self {
        if answer.is_none() {
            self.ask(answer, name, None, fact);
            if let Some(query) = self.0.last_mut() {
                query.likely = Some(likely);
            }
        }
        self
    }

    /// Asks `other`'s queries too, in the same round.
    pub(crate) fn extend(&mut self, other: Ask) {
        self.0.extend(other.0);
        self.1.extend(other.1);
    }

    /// Whether nothing is to be asked.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The effects first, then the queries.
    pub(crate) fn into_parts(self) -> (Vec<crate::effect::Effect>, Vec<Query>) {
        (self.1, self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Likely;

    /// The shim compares the real answer with the expected one byte for byte, and writes
    /// answers as `{"found":…}` without spaces (server/wire.go, answerFound): a guess written
    /// any other way would never be confirmed, and every such round would call the core twice.
    #[test]
    fn likely_answers_are_written_as_the_shim_writes_answers() {
        assert_eq!(
            serde_json::to_string(&Likely::Granted).unwrap(),
            r#"{"found":true}"#
        );
        assert_eq!(
            serde_json::to_string(&Likely::Empty).unwrap(),
            r#"{"found":[]}"#
        );
    }
}
