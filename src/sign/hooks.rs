//! `MessageWillBePosted` / `MessageWillBeUpdated`: sign a post's buttons (or refuse a post whose
//! buttons can never work), and `POST /api/v1/admin/signing-key`: rotate the key.

use super::{sign, Keyring, Scope, Signer, CONTEXT_KEY, KEYRING_KEY};
use crate::effect::{Decision, Effect, Outcome};
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::input::{Context, Request};
use crate::lint::{lint, Severity};
use crate::model::{require_admin, User};
use crate::paths::{names_action_handler, reaches_action_handler};
use crate::refusal::Refusal;
use serde::Deserialize;
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{json, Map, Value};

/// What signing needs to know (asked under these names by whoever signs).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignFacts<'a> {
    /// The signing key (`null` before the first post with buttons).
    #[serde(borrow, default, deserialize_with = "present")]
    pub(crate) keyring: Option<Answer<Option<&'a RawValue>>>,
    /// A first key was stored (only if none was: of two racing writers, one wins).
    #[serde(default, deserialize_with = "present")]
    pub(crate) created: Option<Answer<bool>>,
    /// The key another writer stored first.
    #[serde(borrow, default, deserialize_with = "present")]
    pub(crate) keyring_again: Option<Answer<Option<&'a RawValue>>>,
}

/// The key in use, or the facts still needed to have one. The first post with buttons (or
/// ephemeral message) makes it from this call's entropy, 16 random bytes: a caller must show
/// nobody anything made from them (an event's id is). It is stored only if no key is: of two
/// calls making one at once, on one node or two, one stores its key and the other reads and
/// uses that one, so no signature is made under a key the store does not hold (an ephemeral
/// post's buttons have no other check to fall back to).
///
/// With a key just made or read again, the effects that make every node use it: this node
/// remembers it (its cached answer was `null`), the others forget theirs.
pub(crate) fn keyring(
    f: &SignFacts<'_>,
    ctx: &Context,
) -> Result<(Keyring, Vec<Effect>), Option<Ask>> {
    let Some(answer) = &f.keyring else {
        let mut ask = Ask::default();
        super::ask_keyring(&mut ask, &f.keyring);
        return Err(Some(ask));
    };
    match answer {
        Answer::Found(Some(raw)) => serde_json::from_str(raw.get())
            .map(|key| (key, Vec::new()))
            .map_err(|_| None),
        Answer::Found(None) => {
            let new = Keyring::new(ctx.entropy);
            match (&f.created, &f.keyring_again) {
                (None, _) => Err(Some(Ask::one(
                    "created",
                    Fact::KvCreate {
                        key: KEYRING_KEY.into(),
                        value: to_raw_value(&new).expect("a key serializes"),
                        expire_in_seconds: 0,
                    },
                ))),
                (Some(Answer::Found(true)), _) => {
                    let effects = key_made(&new);
                    Ok((new, effects))
                }
                (Some(Answer::Found(false)), None) => Err(Some(Ask::one(
                    "keyring_again",
                    Fact::KvGet {
                        key: KEYRING_KEY.into(),
                    },
                ))),
                (Some(Answer::Found(false)), Some(Answer::Found(Some(raw)))) => {
                    let won: Keyring = serde_json::from_str(raw.get()).map_err(|_| None)?;
                    let effects = key_made(&won);
                    Ok((won, effects))
                }
                _ => Err(None),
            }
        }
        Answer::Failed(_) => Err(None),
    }
}

/// Every node uses the key just made: this one remembers it, the others forget what they read.
fn key_made(key: &Keyring) -> Vec<Effect> {
    let forget = json!({"forget": {"key": KEYRING_KEY}});
    vec![
        Effect::Remember {
            fact: Fact::KvGet {
                key: KEYRING_KEY.into(),
            },
            found: to_raw_value(key).expect("a key serializes"),
        },
        Effect::Cluster {
            message: to_raw_value(&forget).expect("a message serializes"),
        },
    ]
}

/// A post about to be saved (`edited`: an update). Every action's signature key is removed
/// (a post cannot bring its own), then the actions that point at the handler and name the
/// post's author in `context.user_id` are signed. With `RefuseDeadButtons`, a post whose
/// buttons aimed at this plugin can never work is refused with the lint's reason.
pub(crate) fn post_will_be_saved(post: &str, ctx: &Context, facts: Facts<'_>) -> Outcome {
    let unchanged = || Outcome::Decided(Decision::post(Vec::new(), None, None));
    let Ok(Value::Object(mut post)) = serde_json::from_str::<Value>(post) else {
        return unchanged();
    };
    let text = |k: &str| {
        post.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (author, channel_id, root_id) = (text("user_id"), text("channel_id"), text("root_id"));
    let Some(props) = post.get_mut("props").and_then(Value::as_object_mut) else {
        return unchanged();
    };
    if ctx.settings.refuse_dead_buttons && aims_at_plugin(props) {
        let props_value = Value::Object(props.clone());
        if let Ok(findings) = lint(&props_value, &author) {
            if let Some(f) = findings.iter().find(|f| f.severity == Severity::Error) {
                let reason = format!(
                    "Socket Mode for Mattermost refused this message: its buttons would not work. {} ({}: {}) {}",
                    f.message.trim_end(),
                    f.path,
                    f.code,
                    f.fix
                );
                return Outcome::Decided(Decision::post(Vec::new(), None, Some(reason)));
            }
        }
    }
    let brought = strip_signatures(props);
    let changed = brought.iter().any(Option::is_some);
    let site_url = ctx.settings.site_url.as_str();
    if !actions_mut(props)
        .iter()
        .any(|a| signable(a, &author, site_url))
    {
        return finish(changed, post);
    }
    // Facts that cannot be read (never from the shim) leave the post unsigned, as a store
    // that failed does: asking again would ask twice.
    let Ok(f) = facts.read::<SignFacts<'_>>() else {
        return finish(changed, post);
    };
    let (key, effects) = match keyring(&f, ctx) {
        Ok(made) => made,
        Err(Some(ask)) => return ask.into(),
        // No key to be had (the store failed): the post goes out unsigned, and its clicks get
        // the full check.
        Err(None) => return finish(changed, post),
    };
    let props = post
        .get_mut("props")
        .and_then(Value::as_object_mut)
        .expect("checked above");
    let signer = Signer {
        key: &key,
        site_url,
    };
    sign_actions(props, &signer, &author, &channel_id, &root_id, None);
    // An edit that keeps the buttons a post was saved with — what Mattermost saves when a
    // click's answer updates only the message: it restores the post's own props — brings
    // exactly the signatures signing makes again (they are deterministic). The post then goes
    // back as it came: nothing to write here, nothing for the shim to read back, on the
    // click's answer path.
    if signed_as_brought(props, &brought) {
        return Outcome::Decided(Decision::post(effects, None, None));
    }
    let post = to_raw_value(&post).expect("a post serializes");
    Outcome::Decided(Decision::post(effects, Some(post), None))
}

/// Removes every action's signature key (a post cannot bring its own), and answers what each
/// action brought, in the order of the post's actions.
pub(crate) fn strip_signatures(props: &mut Map<String, Value>) -> Vec<Option<Value>> {
    actions_mut(props)
        .into_iter()
        .map(|action| context_mut(action).and_then(|c| c.remove(CONTEXT_KEY)))
        .collect()
}

/// Whether every action now carries the signature it brought (none where it brought none).
fn signed_as_brought(props: &mut Map<String, Value>, brought: &[Option<Value>]) -> bool {
    let actions = actions_mut(props);
    actions.len() == brought.len()
        && actions.into_iter().zip(brought).all(|(action, before)| {
            context_mut(action).and_then(|c| c.get(CONTEXT_KEY)) == before.as_ref()
        })
}

/// Signs every action of `props` whose clicks Mattermost sends to the handler and that names
/// `author` (the post's author) in `context.user_id`; `ephemeral` names an ephemeral post's one
/// user, its id and its version.
pub(crate) fn sign_actions(
    props: &mut Map<String, Value>,
    signer: &Signer<'_>,
    author: &str,
    channel_id: &str,
    root_id: &str,
    ephemeral: Option<&super::ephemeral::Ephemeral<'_>>,
) {
    for action in actions_mut(props) {
        if !signable(action, author, signer.site_url) {
            continue;
        }
        let kind = match action.get("type").and_then(Value::as_str) {
            Some("select") => "select",
            _ => "button",
        };
        let data_source = action
            .get("data_source")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let options = (kind == "select" && data_source.is_empty()).then(|| {
            action
                .get("options")
                .and_then(Value::as_array)
                .map(|o| o.iter().filter_map(|o| o.get("value").cloned()).collect())
                .unwrap_or_default()
        });
        let scope = Scope {
            author,
            channel_id,
            root_id,
            kind,
            data_source: &data_source,
            to: ephemeral.map_or("", |e| e.to),
            post_id: ephemeral.map_or("", |e| e.post_id),
            version: ephemeral.map_or("", |e| e.version),
        };
        let context = context_mut(action).expect("a signable action has a context");
        let sig = sign(signer.key, &scope, context, options);
        context.insert(CONTEXT_KEY.into(), sig);
    }
}

fn finish(changed: bool, post: Map<String, Value>) -> Outcome {
    let post = changed.then(|| to_raw_value(&post).expect("a post serializes"));
    Outcome::Decided(Decision::post(Vec::new(), post, None))
}

/// Every action object of the post's attachments.
fn actions_mut(props: &mut Map<String, Value>) -> Vec<&mut Map<String, Value>> {
    let Some(Value::Array(attachments)) = props.get_mut("attachments") else {
        return Vec::new();
    };
    attachments
        .iter_mut()
        .filter_map(|a| a.get_mut("actions").and_then(Value::as_array_mut))
        .flatten()
        .filter_map(Value::as_object_mut)
        .collect()
}

fn context_mut(action: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    action
        .get_mut("integration")?
        .get_mut("context")?
        .as_object_mut()
}

/// An action this plugin vouches for: Mattermost sends its clicks to the handler (a path, or an
/// absolute URL on the server's `site_url`; never another host), and it names the post's
/// author.
fn signable(action: &Map<String, Value>, author: &str, site_url: &str) -> bool {
    let Some(integration) = action.get("integration") else {
        return false;
    };
    let url = integration
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let names = integration
        .get("context")
        .and_then(|c| c.get("user_id"))
        .and_then(Value::as_str);
    !author.is_empty() && reaches_action_handler(url, site_url) && names == Some(author)
}

/// Whether any action of the post names this plugin's handler (only those are the plugin's
/// business; the lint says what is wrong with one on another host).
fn aims_at_plugin(props: &Map<String, Value>) -> bool {
    let Some(Value::Array(attachments)) = props.get("attachments") else {
        return false;
    };
    attachments
        .iter()
        .filter_map(|a| a.get("actions").and_then(Value::as_array))
        .flatten()
        .filter_map(|a| a.get("integration")?.get("url")?.as_str())
        .any(names_action_handler)
}

/// What rotating needs to know.
#[derive(Debug, Default, Deserialize)]
struct RotateFacts {
    #[serde(default, deserialize_with = "present")]
    caller: Option<Answer<User>>,
    #[serde(default, deserialize_with = "present")]
    stored: Option<Answer<bool>>,
}

/// `POST /api/v1/admin/signing-key`: a new key, for system administrators. Every signature
/// made before falls back to the full check (never passes); every node forgets the old key.
pub(crate) fn rotate(
    request: &Request<'_>,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Outcome, Refusal> {
    let caller = request.caller()?;
    let f: RotateFacts = facts.read()?;
    let Some(account) = &f.caller else {
        return Ok(Ask::one(
            "caller",
            Fact::User {
                user_id: caller.to_string(),
            },
        )
        .into());
    };
    require_admin(account, "rotate the key that signs buttons")?;
    let key = Keyring::new(ctx.entropy);
    let Some(stored) = &f.stored else {
        let set = Fact::KvSet {
            key: KEYRING_KEY.into(),
            value: to_raw_value(&key).expect("a key serializes"),
            expire_in_seconds: 0,
        };
        return Ok(Ask::one("stored", set).into());
    };
    if let Answer::Failed(e) = stored {
        return Err(Refusal::NotStored {
            what: "signing key",
            detail: e.to_string(),
        });
    }
    let forget = json!({"forget": {"key": KEYRING_KEY}});
    let effects = vec![
        Effect::Forget {
            fact: Fact::KvGet {
                key: KEYRING_KEY.into(),
            },
        },
        Effect::Cluster {
            message: to_raw_value(&forget).expect("a message serializes"),
        },
    ];
    Ok(Outcome::Decided(Decision::http(
        effects,
        200,
        json!({"key_id": key.id}).to_string(),
    )))
}

/// `MessageHasBeenPosted` / `MessageHasBeenUpdated`: a post with signed buttons is remembered
/// as saved, for the clicks that follow. An edit (`edited`) also makes every other node forget
/// the copy it may hold, and an edit that leaves no signed button (its buttons removed, or no
/// longer the plugin's) makes this node forget its copy too: a signed click is checked against
/// the copy, and a button the edit removed must stop working at once, not when a copy expires.
pub(crate) fn post_saved(post: &str, edited: bool, ctx: &Context) -> Outcome {
    let quiet = |effects| Outcome::Decided(Decision::quiet(effects));
    let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(post) else {
        return quiet(Vec::new());
    };
    let id = fields
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if id.is_empty() {
        return quiet(Vec::new());
    }
    let signed = fields
        .get_mut("props")
        .and_then(Value::as_object_mut)
        .is_some_and(|props| {
            actions_mut(props)
                .into_iter()
                .any(|a| context_mut(a).is_some_and(|c| c.contains_key(CONTEXT_KEY)))
        });
    let mut effects = Vec::new();
    if signed {
        let found = RawValue::from_string(post.to_owned()).expect("the post is JSON");
        effects.push(Effect::Remember {
            fact: Fact::Post {
                post_id: id.clone(),
            },
            found,
        });
    } else if edited {
        effects.push(forget_post(&id));
    }
    if edited {
        effects.extend(post_changed(&id, ctx));
    }
    quiet(effects)
}

/// `MessageHasBeenDeleted`: every node forgets the post.
pub(crate) fn post_deleted(post_id: &str, ctx: &Context) -> Outcome {
    let mut effects = vec![forget_post(post_id)];
    effects.extend(post_changed(post_id, ctx));
    Outcome::Decided(Decision::quiet(effects))
}

/// What a node tells the others when a post changed or was deleted there: Mattermost calls the
/// post hooks on that node only, and another may hold a copy for the clicks it serves. On a
/// single server there is nobody to tell (the message would cost a round trip and reach no
/// one).
#[derive(Debug, serde::Serialize, Deserialize)]
struct PostChanged {
    post_changed: String,
}

fn post_changed(post_id: &str, ctx: &Context) -> Option<Effect> {
    let message = PostChanged {
        post_changed: post_id.to_owned(),
    };
    crate::delivery::to_other_nodes(&message, ctx)
}

fn forget_post(post_id: &str) -> Effect {
    Effect::Forget {
        fact: Fact::Post {
            post_id: post_id.to_owned(),
        },
    }
}

/// A message from another node saying a post changed there: forget this node's copy. `None`
/// when the message is about something else.
pub(crate) fn post_changed_elsewhere(message: &str) -> Option<Outcome> {
    let m: PostChanged = serde_json::from_str(message).ok()?;
    Some(Outcome::Decided(Decision::quiet(vec![forget_post(
        &m.post_changed,
    )])))
}
