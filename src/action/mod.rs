//! `POST /api/v1/handler`: a click on a button or a menu, forwarded to the bot it names.
//!
//! [`parse`] checks what needs no fact. With provenance verification on, every top-level field
//! the bot trusts is then checked against Mattermost's state ([`fields`]) and the click against
//! the stored post ([`provenance`]); the readability of the channel comes first, so a refusal
//! never tells whether something the clicker cannot see exists.

mod fields;
mod provenance;

use crate::body::{self, Fields};
use crate::delivery;
use crate::effect::{Decision, Effect, Outcome};
use crate::event::{action_event, ACTION};
use crate::facts::{present, Answer, Ask, Fact, Facts, Likely, Prefetch};
use crate::ids::{is_mattermost_id, EventId, UserId};
use crate::input::{Context, Request};
use crate::model::{Channel, Post, Team, User};
use crate::refusal::{refuse, Refusal};
use crate::sign::{self, Keyring, Signed};
use crate::trigger::{Place, Trigger};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::to_raw_value;
use serde_json::{Map, Value};

/// A click request that passed every check that needs no fact.
#[derive(Debug)]
pub(crate) struct Click<'a> {
    /// The body, passed through to the bot key by key.
    pub(crate) fields: Fields<'a>,
    /// `context`, parsed: always an object.
    pub(crate) context: Map<String, Value>,
    /// The authenticated user who clicked.
    pub(crate) caller: UserId,
    /// `context.user_id`: the bot that receives the event.
    pub(crate) recipient: UserId,
    /// What the click claims about where it was made; read only when provenance is verified.
    pub(crate) claim: Option<Claim>,
    /// Mattermost made the request itself (its answer is written for Mattermost alone).
    pub(crate) internal: bool,
}

/// Where a click says it was made, and what it says it is. Every part is checked.
#[derive(Debug)]
pub(crate) struct Claim {
    pub(crate) post_id: String,
    pub(crate) channel_id: String,
    pub(crate) team_id: String,
    /// `button` or `select` (`""` is a button, as Mattermost shows it).
    pub(crate) kind: String,
    /// `users`, `channels`, or empty.
    pub(crate) data_source: String,
    /// `context.selected_option`, for a menu.
    pub(crate) selected: Option<Value>,
}

/// What a click needs to know from Mattermost.
#[derive(Debug, Default, Deserialize)]
struct ClickFacts {
    /// The post clicked on.
    #[serde(default, deserialize_with = "present")]
    post: Option<Answer<Post>>,
    /// Whether the clicker may read the channel the click names.
    #[serde(default, deserialize_with = "present")]
    can_read: Option<Answer<bool>>,
    /// That channel.
    #[serde(default, deserialize_with = "present")]
    channel: Option<Answer<Channel>>,
    /// The team the click names (none for direct and group messages).
    #[serde(default, deserialize_with = "present")]
    team: Option<Answer<Team>>,
    /// The clicker's account.
    #[serde(default, deserialize_with = "present")]
    clicker: Option<Answer<User>>,
    /// The bot that receives the event.
    #[serde(default, deserialize_with = "present")]
    recipient: Option<Answer<User>>,
    /// The user chosen in a users menu.
    #[serde(default, deserialize_with = "present")]
    chosen_user: Option<Answer<User>>,
    /// Whether the clicker may read the channel chosen in a channels menu.
    #[serde(default, deserialize_with = "present")]
    chosen_channel: Option<Answer<bool>>,
    /// The recipient's subscriptions (read by the delivery layer; asked here, with the rest).
    #[serde(default, deserialize_with = "present")]
    registry: Option<Answer<IgnoredAny>>,
    /// The bot's expansion request, asked with the registry but answered on its own (a node may
    /// have one cached and not the other); read by the delivery layer.
    #[serde(default, deserialize_with = "present")]
    expand: Option<Answer<IgnoredAny>>,
    /// The key that signs buttons and the trigger token.
    #[serde(default, deserialize_with = "present")]
    keyring: Option<Answer<Option<Keyring>>>,
    /// For a click on an ephemeral post the plugin sent: the version its buttons are at
    /// (`null`: none any more, the post's buttons expired).
    #[serde(default, deserialize_with = "present")]
    ephemeral: Option<Answer<Option<crate::sign::ephemeral::Record>>>,
}

/// Where a click's signature leaves it.
#[derive(Debug)]
enum Signature {
    /// No signature (or verification is off): the full check against the stored post.
    None,
    /// The key is still to be read.
    KeyNeeded,
    /// Valid: the post's provenance is what the signature says.
    Valid(Signed),
}

pub(crate) fn handle(request: &Request<'_>, ctx: &Context, facts: Facts<'_>) -> Outcome {
    match parse(request, ctx.settings.verify_provenance) {
        Ok(click) => answered(request, ctx, &click, facts, None, 0),
        Err(refusal) => Outcome::Decided(refuse(refusal, request.log_fields())),
    }
}

/// Decides `click` from the answers so far, or asks for more. A round whose every question
/// the shim answered in advance ([`Facts::take_prefetched`]) is answered here, in the same
/// call, without reading the click again; `checked` is its signature as checked with the key
/// the answers hold, when the key was in already.
fn answered(
    request: &Request<'_>,
    ctx: &Context,
    click: &Click<'_>,
    raw_facts: Facts<'_>,
    checked: Option<Signature>,
    taken: u8,
) -> Outcome {
    let facts: ClickFacts = match raw_facts.read() {
        Ok(facts) => facts,
        Err(e) => return Outcome::Decided(refuse(e.into(), request.log_fields())),
    };
    let signature = match checked {
        Some(signature) => signature,
        None => signature(click, &facts),
    };
    if let Some(ask) = missing(click, &facts, &signature) {
        // Each round taken answers at least one more name, so the rounds are bounded by the
        // facts' names; the bound says so outright.
        if taken == MAX_ROUNDS_TAKEN {
            return ask.into();
        }
        return match raw_facts.take_prefetched(ask) {
            Ok(answers) => {
                // The signature reads the click and the key only: with the key read already,
                // it stands as checked with it.
                let checked = facts.keyring.is_some().then_some(signature);
                let more = Facts::answers(&answers).with_prefetched(raw_facts.prefetched());
                answered(request, ctx, click, more, checked, taken + 1)
            }
            Err(ask) => ask.into(),
        };
    }
    let root_id = match (&signature, &facts.post) {
        (Signature::Valid(signed), _) => signed.root_id.clone(),
        (_, Some(Answer::Found(post))) => post.root_id.clone(),
        _ => String::new(),
    };
    let refused = |refusal: Refusal, click: &Click<'_>| {
        // Log fields are built only for a refusal: the accepted path stays lean.
        let mut log = request.log_fields();
        log.insert("recipient_user_id", click.recipient.to_string());
        if let Some(claim) = &click.claim {
            log.insert("post_id", claim.post_id.clone());
            log.insert("channel_id", claim.channel_id.clone());
        }
        Outcome::Decided(refuse(refusal, log))
    };
    // A click on an ephemeral post the plugin sent: an `update` answer is the plugin's to apply.
    let ephemeral = match (&signature, &facts.keyring) {
        (Signature::Valid(signed), Some(Answer::Found(Some(key)))) if !signed.to.is_empty() => {
            let answering = crate::sign::ephemeral::Answering {
                key: key.clone(),
                site_url: ctx.settings.site_url.clone(),
                event_id: EventId::from_entropy(ctx.entropy).as_str().to_owned(),
            };
            Some((answering, signed.version.clone()))
        }
        _ => None,
    };
    let keyring = match &facts.keyring {
        Some(Answer::Found(Some(key))) => Some(key),
        _ => None,
    };
    match decide(click, ctx, &facts, &signature) {
        Ok(verified) => match deliver(click, verified, root_id, ephemeral, keyring, ctx, raw_facts)
        {
            Ok(outcome) => outcome,
            Err(refusal) => refused(refusal, click),
        },
        Err(refusal) => refused(refusal, click),
    }
}

/// The state of the click's signature (SPEC §10), from the key once it is known.
fn signature(click: &Click<'_>, f: &ClickFacts) -> Signature {
    let (Some(claim), Some(sig)) = (&click.claim, click.context.get(sign::CONTEXT_KEY)) else {
        return Signature::None;
    };
    let key = match &f.keyring {
        None => return Signature::KeyNeeded,
        Some(Answer::Found(Some(key))) => key,
        Some(_) => return Signature::None,
    };
    // What a click adds to the context the bot posted is passed over, not removed from a copy.
    let without: &[&str] = match claim.kind.as_str() {
        "select" => &[sign::CONTEXT_KEY, "selected_option"],
        _ => &[sign::CONTEXT_KEY],
    };
    let context = sign::Covered {
        context: &click.context,
        without,
    };
    let scope = sign::Scope {
        author: click.recipient.as_str(),
        channel_id: &claim.channel_id,
        root_id: "",
        kind: &claim.kind,
        data_source: &claim.data_source,
        to: "",
        post_id: "",
        version: "",
    };
    match sign::verify(key, &scope, context, sig) {
        // An ephemeral post's signature carries only its own user's clicks on that post (a
        // cookie handed to somebody else, or named with another post, gets the full check, and
        // no stored post to pass it).
        Some(signed)
            if !signed.to.is_empty()
                && (signed.to != click.caller.as_str() || signed.post_id != claim.post_id) =>
        {
            Signature::None
        }
        Some(signed) => Signature::Valid(signed),
        None => Signature::None,
    }
}

/// The facts still to ask for, all in one round so that they are gathered concurrently. A
/// signed click asks for the key instead of the post and the permission; if its signature
/// does not hold, they are asked in the next round.
fn missing(click: &Click<'_>, f: &ClickFacts, signature: &Signature) -> Option<Ask> {
    let mut ask = Ask::default();
    if let Some(claim) = &click.claim {
        let caller = || click.caller.to_string();
        let post = || Fact::Post {
            post_id: claim.post_id.clone(),
        };
        // An ephemeral post is not stored: its signature is all there is to check, with the
        // version the plugin keeps for it (never cached: an update moves it on).
        let version = || Fact::KvGet {
            key: crate::sign::ephemeral::record_key(&claim.post_id),
        };
        match signature {
            Signature::Valid(signed) if !signed.to.is_empty() => {
                ask.unless(&f.ephemeral, "ephemeral", version);
            }
            Signature::Valid(_) => {
                ask.unless_cached_for(&f.post, "post", sign::POST_CACHE_MS, post);
            }
            Signature::KeyNeeded => {
                sign::ask_keyring(&mut ask, &f.keyring);
                // A signature that says it is an ephemeral post's needs no post; should it not
                // hold, the post is asked in the next round.
                let ephemeral = click
                    .context
                    .get(sign::CONTEXT_KEY)
                    .is_some_and(|s| s.get("e").is_some());
                match ephemeral {
                    true => ask.unless(&f.ephemeral, "ephemeral", version),
                    false => ask.unless_cached_for(&f.post, "post", sign::POST_CACHE_MS, post),
                };
            }
            Signature::None => {
                ask.unless(&f.post, "post", post);
            }
        }
        // Asked for signed clicks too: Mattermost shows a post's integrations, signatures
        // included, in permalink previews, so a signature does not prove the clicker can read
        // the channel now (FINDINGS.md).
        // Almost always held: the shim may ask it beside the core's next call.
        ask.unless_likely(&f.can_read, "can_read", Likely::Granted, || {
            Fact::ChannelPermission {
                user_id: caller(),
                channel_id: claim.channel_id.clone(),
                permission: "read_channel",
            }
        });
        ask.unless_cached_fields(&f.channel, "channel", Channel::FIELDS, || Fact::Channel {
            channel_id: claim.channel_id.clone(),
        })
        .unless_cached_fields(&f.clicker, "clicker", User::FIELDS, || Fact::User {
            user_id: caller(),
        });
        if !claim.team_id.is_empty() {
            ask.unless_cached_fields(&f.team, "team", Team::FIELDS, || Fact::Team {
                team_id: claim.team_id.clone(),
            });
        }
        match (claim.data_source.as_str(), fields::chosen_id(claim)) {
            ("users", Some(id)) => {
                ask.unless_cached(&f.chosen_user, "chosen_user", || Fact::User { user_id: id });
            }
            // The menu offered the person channels they can read: almost always held.
            ("channels", Some(id)) => {
                ask.unless_likely(&f.chosen_channel, "chosen_channel", Likely::Granted, || {
                    Fact::ChannelPermission {
                        user_id: caller(),
                        channel_id: id,
                        permission: "read_channel",
                    }
                });
            }
            _ => {}
        }
    }
    ask.unless_cached_fields(&f.recipient, "recipient", User::FIELDS, || Fact::User {
        user_id: click.recipient.to_string(),
    });
    // For the trigger token every event carries (a node keeps the key a minute); a signed
    // click asked it above.
    if !matches!(signature, Signature::KeyNeeded) {
        sign::ask_keyring(&mut ask, &f.keyring);
    }
    delivery::ask_registry(&mut ask, &f.registry, &f.expand, &click.recipient);
    (!ask.is_empty()).then_some(ask)
}

/// The most rounds of one click answered in advance within a call (a warm click takes one).
const MAX_ROUNDS_TAKEN: u8 = 4;

/// The first round of a warm click on a stored signed post, the key at hand (attached as a
/// standing fact), with marker ids where the click's own go: what the shim may look up before
/// the click's first call ([`Prefetch`]). Built by [`missing`] itself, so that a filled query
/// is byte for byte the one the click asks; only those a shim can answer without the server
/// (cached) or expect (likely) are listed.
pub(crate) fn prefetch() -> Prefetch {
    const USER: &str = "prefetchmarkerclicker00001";
    const POST: &str = "prefetchmarkerpost00000001";
    const CHANNEL: &str = "prefetchmarkerchannel00001";
    const TEAM: &str = "prefetchmarkerteam00000001";
    const RECIPIENT: &str = "prefetchmarkerrecipient001";
    let id = |marker: &str| UserId::parse(marker).expect("markers are ids");
    let click = Click {
        fields: Fields::default(),
        context: Map::new(),
        caller: id(USER),
        recipient: id(RECIPIENT),
        claim: Some(Claim {
            post_id: POST.into(),
            channel_id: CHANNEL.into(),
            team_id: TEAM.into(),
            kind: "button".into(),
            data_source: String::new(),
            selected: None,
        }),
        internal: true,
    };
    let facts = ClickFacts {
        keyring: Some(Answer::Found(None)),
        ..ClickFacts::default()
    };
    let signed = Signature::Valid(Signed::default());
    let queries = missing(&click, &facts, &signed)
        .map(Ask::into_queries)
        .unwrap_or_default()
        .into_iter()
        .filter(|q| q.cache_ms.is_some() || q.likely.is_some())
        .collect();
    Prefetch {
        path: crate::paths::ACTION_PATH,
        max_body_bytes: PREFETCH_BODY_BYTES,
        fill: [
            (USER, "user"),
            (POST, "body.post_id"),
            (CHANNEL, "body.channel_id"),
            // Empty in a direct or group message: the click then asks no team.
            (TEAM, "body.team_id?"),
            (RECIPIENT, "body.context.user_id"),
        ]
        .into(),
        queries,
    }
}

/// The largest click body the shim reads for [`prefetch`]: clicks are a few hundred bytes to a
/// few KiB; a larger one (hostile, or a huge context) is decided in the usual rounds rather
/// than read twice.
const PREFETCH_BODY_BYTES: usize = 4 * 1024;

/// Decides from the answers; `Ok(verified)` means deliver, with `proxy.verified = verified`.
fn decide(
    click: &Click<'_>,
    ctx: &Context,
    f: &ClickFacts,
    signature: &Signature,
) -> Result<bool, Refusal> {
    let verified = match (&click.claim, signature) {
        (Some(claim), Signature::Valid(signed)) => {
            fields::check(click, claim, f)?;
            if signed.to.is_empty() {
                let post = f.post.as_ref().expect("asked");
                let sig = click.context.get(sign::CONTEXT_KEY).expect("signed");
                provenance::verify_signed(click, claim, post, sig)?;
            } else {
                provenance::check_ephemeral_version(claim, signed, f.ephemeral.as_ref())?;
            }
            provenance::check_signed_choice(claim, signed)?;
            true
        }
        (Some(claim), _) => {
            fields::check(click, claim, f)?;
            let post = f.post.as_ref().expect("asked");
            provenance::verify(click, claim, &ctx.settings, post)?
        }
        (None, _) => false,
    };
    provenance::check_recipient(click, f.recipient.as_ref().expect("asked"))?;
    Ok(verified)
}

/// The effects of an accepted click: its trigger's place signed into the event (for the dialog
/// the bot may open with it) and remembered on this node, then deliver: through the delivery
/// layer to a bot that subscribed, or published to the bot's every connection, answered `{}`,
/// as before subscriptions existed.
fn deliver(
    click: &Click<'_>,
    verified: bool,
    root_id: String,
    ephemeral: Option<(crate::sign::ephemeral::Answering, String)>,
    keyring: Option<&Keyring>,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Outcome, Refusal> {
    let mut before = Vec::with_capacity(1);
    let trigger = click
        .fields
        .get::<String>("trigger_id", "a trigger id")
        .ok()
        .flatten()
        .and_then(|t| Trigger::parse(&t));
    // Verified with provenance on; as the click says with it off (nothing is verified then).
    let id = |field| {
        let value: String = click
            .fields
            .get(field, "")
            .ok()
            .flatten()
            .unwrap_or_default();
        (value.is_empty() || is_mattermost_id(&value)).then_some(value)
    };
    let place = match &click.claim {
        Some(claim) => Some((claim.channel_id.clone(), claim.team_id.clone())),
        None => id("channel_id")
            .zip(id("team_id"))
            .filter(|(c, _)| !c.is_empty()),
    };
    let mut issued = None;
    if let (Some(trigger), Some((channel_id, team_id))) = (trigger, place.clone()) {
        let place = Place {
            user_id: trigger.user_id.clone(),
            channel_id,
            team_id,
        };
        if let Some(key) = keyring {
            let bot = click.recipient.as_str();
            issued = Some(crate::trigger::issue(
                &trigger,
                &place,
                bot,
                key,
                &ctx.settings,
            ));
        }
        before.push(Effect::Remember {
            fact: trigger.remembered(),
            found: to_raw_value(&place).expect("a place serializes"),
        });
    }
    // The signature is the plugin's, not the bot's: it never reaches the bot.
    let unsigned = click.context.contains_key(sign::CONTEXT_KEY).then(|| {
        let unsigned = sign::Covered {
            context: &click.context,
            without: &[sign::CONTEXT_KEY],
        };
        to_raw_value(&unsigned).expect("a context serializes")
    });
    let data = action_event(
        click.fields.raw(),
        unsigned.as_deref(),
        verified,
        issued.as_ref(),
        ctx,
    );
    let post_id = id("post_id").unwrap_or_default();
    let about = crate::expand::About {
        acting_user: click.caller.to_string(),
        channel_id: place.as_ref().map(|(c, _)| c.clone()).unwrap_or_default(),
        team_id: place.as_ref().map(|(_, t)| t.clone()).unwrap_or_default(),
        // An ephemeral post is not stored: there is nothing to expand.
        post_id: match ephemeral {
            Some(_) => String::new(),
            None => post_id.clone(),
        },
        root_id: root_id.clone(),
    };
    let (ephemeral, ephemeral_version) = ephemeral.unzip();
    let sender = delivery::ClickSender {
        place: delivery::Place {
            ephemeral_root: ephemeral.as_ref().map(|_| root_id.clone()),
            ephemeral_version,
            root_id: if root_id.is_empty() {
                post_id.clone()
            } else {
                root_id
            },
            post_id,
            channel_id: place.map(|(c, _)| c).unwrap_or_default(),
            user_id: click.caller.to_string(),
        },
        bot: click.recipient.clone(),
        ephemeral,
        internal: click.internal,
    };
    let outgoing = delivery::Outgoing {
        bot: &click.recipient,
        event: ACTION,
        data: data.clone(),
        event_id: EventId::from_entropy(ctx.entropy),
        from: &sender,
        before: before.clone(),
        about,
    };
    if let Some(outcome) = delivery::deliver(outgoing, ctx, facts)? {
        return Ok(outcome);
    }
    before.push(Effect::publish(ACTION, click.recipient.clone(), data));
    Ok(Outcome::Decided(Decision::http(
        before,
        200,
        "{}".to_owned(),
    )))
}

/// Checks everything that needs no fact from Mattermost. `verify` reads what the click claims,
/// which only provenance verification checks.
fn parse<'a>(request: &Request<'a>, verify: bool) -> Result<Click<'a>, Refusal> {
    let caller = request.caller()?;
    let fields = body::fields(request)?;
    // The Go websocket client turns a top-level `user` into a *model.User: Mattermost never
    // sends one, and no event may carry one.
    if fields.raw().contains_key("user") {
        return Err(Refusal::ReservedField { field: "user" });
    }

    let claimed: String = fields.require("user_id", "the clicking user's id")?;
    if claimed != caller.as_str() {
        return Err(Refusal::UserMismatch {
            claimed,
            caller: caller.to_string(),
        });
    }

    let context = match fields.value("context") {
        Some(Value::Object(context)) => context,
        _ => return Err(Refusal::InvalidRecipient),
    };
    let recipient = context
        .get("user_id")
        .and_then(Value::as_str)
        .and_then(UserId::parse)
        .ok_or(Refusal::InvalidRecipient)?;

    let claim = if verify {
        let id = |field: &'static str| -> Result<String, Refusal> {
            let expected = "a Mattermost id";
            Some(fields.require::<String>(field, expected)?)
                .filter(|id| is_mattermost_id(id))
                .ok_or(Refusal::BadField { field, expected })
        };
        let text = |field: &'static str| -> Result<String, Refusal> {
            Ok(fields.get(field, "a string")?.unwrap_or_default())
        };
        let team_id = text("team_id")?;
        if !team_id.is_empty() && !is_mattermost_id(&team_id) {
            return Err(Refusal::BadField {
                field: "team_id",
                expected: "a Mattermost id, or empty",
            });
        }
        let kind = match text("type")?.as_str() {
            "" => "button".to_owned(),
            kind => kind.to_owned(),
        };
        Some(Claim {
            post_id: id("post_id")?,
            channel_id: id("channel_id")?,
            team_id,
            selected: context.get("selected_option").cloned(),
            data_source: text("data_source")?,
            kind,
        })
    } else {
        None
    };

    Ok(Click {
        fields,
        context,
        caller,
        recipient,
        claim,
        internal: request.internal,
    })
}
