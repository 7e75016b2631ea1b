//! `POST /api/v1/dialogs/<session>/submit`, called by Mattermost for the person submitting.

use super::session::{caller_and_fields, forget, open_for, session_key, Session};
use crate::delivery::{self, Sender};
use crate::effect::{Decision, Effect, Outcome};
use crate::event::{dialog_submission_event, DialogSubmission, DIALOG_REFRESH, DIALOG_SUBMISSION};
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::form::answer::{read_refresh_answer, read_submission_answer, SubmissionAnswer};
use crate::form::bind_lookups;
use crate::form::definition::Dialog;
use crate::form::submission::{check_submission, chosen, Chosen};
use crate::ids::{EventId, UserId};
use crate::input::{Context, Request};
use crate::paths::dialog_lookup_url;
use crate::refusal::{refuse_form, unavailable, Refusal};
use crate::refusal::{Notice, Subject};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::to_raw_value;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What a submission needs to know from Mattermost.
#[derive(Debug, Default, Deserialize)]
struct SubmitFacts<'a> {
    /// The stored session (`null` when there is none).
    #[serde(borrow, default, deserialize_with = "present")]
    session: Option<Answer<Option<&'a RawValue>>>,
    /// The person submitting.
    #[serde(default, deserialize_with = "present")]
    submitter: Option<Answer<Submitter>>,
    /// Whether this submission consumed the session (asked once the form is valid).
    #[serde(default, deserialize_with = "present")]
    consumed: Option<Answer<bool>>,
    /// The recipient's subscriptions (read by the delivery layer; asked with `consumed`).
    #[serde(borrow, default, deserialize_with = "present")]
    registry: Option<Answer<Option<&'a RawValue>>>,
    /// The bot's expansion request, asked with the registry but answered on its own (a node may
    /// have one cached and not the other); read by the delivery layer.
    #[serde(default, deserialize_with = "present")]
    expand: Option<Answer<IgnoredAny>>,
    /// The users the submission chose, each found or not (asked once the form is valid).
    #[serde(default, deserialize_with = "present")]
    chosen_users: Option<Answer<BTreeMap<String, Answer<ChosenUser>>>>,
    /// Whether the submitter may read each channel the submission chose.
    #[serde(default, deserialize_with = "present")]
    chosen_channels: Option<Answer<BTreeMap<String, bool>>>,
}

/// The part of a chosen user that says whether it may be chosen.
#[derive(Debug, Deserialize)]
struct ChosenUser {
    #[serde(default)]
    delete_at: i64,
}

/// The parts of a user the submission event needs.
#[derive(Debug, Deserialize)]
struct Submitter {
    #[serde(default)]
    username: String,
}

pub(crate) fn submit(
    request: &Request<'_>,
    session_id: &str,
    ctx: &Context,
    facts: Facts<'_>,
) -> Outcome {
    match decide(request, session_id, ctx, facts) {
        Ok(Step::Ask(ask)) => ask.into(),
        Ok(Step::Done(decision)) => Outcome::Decided(decision),
        Ok(Step::Delivered(outcome)) => outcome,
        Err(refusal) => Outcome::Decided(refuse_form(refusal, request.log_fields())),
    }
}

/// Where one call leaves the submission.
enum Step {
    Ask(Ask),
    Done(Decision),
    /// In the hands of the delivery layer (the bot subscribed).
    Delivered(Outcome),
}

fn decide(
    request: &Request<'_>,
    session_id: &str,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Step, Refusal> {
    let (caller, fields) = caller_and_fields(request, session_id)?;
    let submitted: Map<String, Value> = fields.get("submission", "an object")?.unwrap_or_default();
    let cancelled: bool = fields
        .get("cancelled", "true or false")?
        .unwrap_or_default();
    // Mattermost sends `refresh` when a field marked `refresh` changed; anything else is a
    // submission.
    let refresh = fields.get::<String>("type", "text")?.as_deref() == Some("refresh");

    let raw_facts = facts;
    let facts: SubmitFacts<'_> = facts.read()?;
    let key = session_key(session_id);
    let (Some(session), Some(submitter)) = (&facts.session, &facts.submitter) else {
        let mut ask = Ask::default();
        ask.unless(&facts.session, "session", || Fact::KvGet {
            key: key.clone(),
        })
        .unless(&facts.submitter, "submitter", || Fact::User {
            user_id: caller.to_string(),
        });
        return Ok(Step::Ask(ask));
    };
    let (session, raw_session) = open_for(session, &caller, ctx.now_ms)?;
    let dialog = &session.dialog;
    let user_name = match submitter {
        Answer::Found(user) => user.username.as_str(),
        Answer::Failed(e) => {
            return Err(Refusal::Unavailable {
                what: "your account",
                detail: if e.is_not_found() {
                    "not found".to_owned()
                } else {
                    e.to_string()
                },
            })
        }
    };

    let recipient = UserId::parse(&session.recipient).ok_or_else(|| Refusal::Internal {
        detail: "the session names no valid recipient".into(),
    })?;
    let place = Where {
        user_id: caller.as_str(),
        user_name,
        session_id,
        session: &session,
        raw_session,
    };
    if refresh {
        return refreshed(&place, &submitted, &recipient, ctx, &facts, raw_facts);
    }

    let submission = if cancelled {
        Map::new()
    } else {
        let (mut errors, kept) = check_submission(dialog, &submitted);
        if errors.is_empty() {
            match check_chosen(&chosen(dialog, &kept), &caller, &facts)? {
                Checked::Ask(ask) => return Ok(Step::Ask(ask)),
                Checked::Errors(e) => errors = e,
            }
        }
        if !errors.is_empty() {
            // 200 with `errors` keeps the dialog open with each message under its field.
            let body = json!({ "errors": errors }).to_string();
            return Ok(Step::Done(Decision::http(Vec::new(), 200, body)));
        }
        kept
    };

    // A session is used once: consuming it is a compare-and-delete, so two submissions racing
    // each other cannot both get through. (A bot that answers with field errors gives it back.)
    let Some(consumed) = &facts.consumed else {
        let mut ask = Ask::one(
            "consumed",
            Fact::KvConsume {
                key,
                expected: raw_session.get().to_owned(),
            },
        );
        delivery::ask_registry(&mut ask, &facts.registry, &facts.expand, &recipient);
        return Ok(Step::Ask(ask));
    };
    match consumed {
        Answer::Found(true) => {}
        Answer::Found(false) => return Err(Refusal::DialogUsed),
        Answer::Failed(e) => {
            return Err(Refusal::Unavailable {
                what: "form",
                detail: e.to_string(),
            })
        }
    }

    let ok = |effects| Ok(Step::Done(Decision::http(effects, 200, "{}".to_owned())));
    if cancelled && !dialog.notify_on_cancel {
        return ok(Vec::new());
    }
    let data = place.event(&submission, cancelled, ctx);
    let sender = SubmissionSender {
        place: &place,
        // Nobody waits for the answer to a cancellation: the dialog is gone.
        wait: !cancelled,
        ctx,
    };
    let outgoing = delivery::Outgoing {
        bot: &recipient,
        event: DIALOG_SUBMISSION,
        data: data.clone(),
        event_id: EventId::from_entropy(ctx.entropy),
        from: &sender,
        before: Vec::new(),
        about: place.about(),
    };
    if let Some(outcome) = delivery::deliver(outgoing, ctx, raw_facts)? {
        return Ok(Step::Delivered(outcome));
    }
    ok(vec![Effect::publish(DIALOG_SUBMISSION, recipient, data)])
}

/// Where checking a submission's chosen users and channels stands.
enum Checked {
    /// What to ask Mattermost first.
    Ask(Ask),
    /// The fields whose choice cannot be made (empty: every choice can).
    Errors(BTreeMap<String, String>),
}

/// A users select's choice is an active user, a channels select's a channel the submitter can
/// read (SPEC §7, as for a message menu's): Mattermost's dialog lets the person pick only
/// those, so anything else was made up. The same words for a channel that does not exist and
/// one the person cannot read: no oracle.
fn check_chosen(
    chosen: &[Chosen<'_>],
    caller: &UserId,
    facts: &SubmitFacts<'_>,
) -> Result<Checked, Refusal> {
    let ids = |channel: bool| {
        let mut ids: Vec<String> = chosen
            .iter()
            .filter(|c| c.channel == channel)
            .map(|c| c.id.to_owned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let (users, channels) = (ids(false), ids(true));
    let mut ask = Ask::default();
    if !users.is_empty() {
        ask.unless(&facts.chosen_users, "chosen_users", || Fact::Users {
            user_ids: users.clone(),
        });
    }
    if !channels.is_empty() {
        ask.unless(&facts.chosen_channels, "chosen_channels", || {
            Fact::ChannelPermissions {
                user_id: caller.to_string(),
                channel_ids: channels.clone(),
                permission: "read_channel",
            }
        });
    }
    if !ask.is_empty() {
        return Ok(Checked::Ask(ask));
    }
    let users = match &facts.chosen_users {
        Some(Answer::Failed(e)) => return Err(unavailable("chosen users", e)),
        Some(Answer::Found(users)) => Some(users),
        None => None,
    };
    let channels = match &facts.chosen_channels {
        Some(Answer::Failed(e)) => return Err(unavailable("channel permissions", e)),
        Some(Answer::Found(channels)) => Some(channels),
        None => None,
    };
    let mut errors = BTreeMap::new();
    for c in chosen {
        let ok = if c.channel {
            channels.and_then(|m| m.get(c.id)).copied() == Some(true)
        } else {
            match users.and_then(|m| m.get(c.id)) {
                Some(Answer::Found(user)) => user.delete_at == 0,
                Some(Answer::Failed(e)) if !e.is_not_found() => {
                    return Err(unavailable("chosen users", e))
                }
                _ => false,
            }
        };
        if !ok {
            errors.insert(c.field.to_owned(), "Choose from the list.".to_owned());
        }
    }
    Ok(Checked::Errors(errors))
}

/// The open dialog a submission or refresh is about, and who sent it.
struct Where<'a> {
    user_id: &'a str,
    user_name: &'a str,
    session_id: &'a str,
    session: &'a Session,
    /// The session's text as stored, to give it back.
    raw_session: &'a RawValue,
}

impl Where<'_> {
    /// Who submitted, where the dialog was opened: what expansions are looked up by.
    fn about(&self) -> crate::expand::About {
        crate::expand::About {
            acting_user: self.user_id.to_owned(),
            channel_id: self.session.channel_id.clone(),
            team_id: self.session.team_id.clone(),
            ..Default::default()
        }
    }

    /// The event's data: the values plus `proxy`, where the dialog was opened whatever the
    /// request says.
    fn event(&self, values: &Map<String, Value>, cancelled: bool, ctx: &Context) -> Box<RawValue> {
        let dialog = &self.session.dialog;
        dialog_submission_event(
            &DialogSubmission {
                callback_id: &dialog.callback_id,
                state: &dialog.state,
                submission: values,
                user_id: self.user_id,
                user_name: self.user_name,
                channel_id: &self.session.channel_id,
                team_id: &self.session.team_id,
                cancelled,
            },
            ctx,
        )
    }

    /// The session as it was, to store again: the person may submit once more.
    fn given_back(&self, ctx: &Context) -> Fact {
        Fact::KvCreate {
            key: session_key(self.session_id),
            value: self.raw_session.to_owned(),
            expire_in_seconds: self.session.remaining_s(ctx.now_ms),
        }
    }

    /// The bot's next form, bound to this session, and the session that follows it.
    fn next_form(&self, mut raw: Value, dialog: Dialog) -> (Value, Session) {
        let lookups = bind_lookups(&mut raw, &dialog_lookup_url(self.session_id));
        let next = Session {
            dialog,
            lookups,
            ..self.session.clone()
        };
        (raw, next)
    }
}

/// Whether the session a bot's answer changes was stored (asked by the senders below, after
/// the answer came and before the person sees it: what they see next must be there).
#[derive(Debug, Default, Deserialize)]
struct SessionWrite {
    #[serde(default, deserialize_with = "present")]
    session_written: Option<Answer<bool>>,
}

/// The dialog's own error when a session could not be stored: shown in the dialog.
fn not_saved() -> Decision {
    let text = "The plugin could not save this form just now. Close it and try again.";
    Decision::http(Vec::new(), 200, json!({ "error": text }).to_string())
}

/// The person who submitted waits for the bot's answer, which becomes the dialog's response
/// (SPEC §11): field errors, an error, a next form, or the dialog closing.
struct SubmissionSender<'a> {
    place: &'a Where<'a>,
    wait: bool,
    ctx: &'a Context,
}

impl Sender for SubmissionSender<'_> {
    fn window_ms(&self, ctx: &Context) -> u32 {
        match self.wait {
            true => ctx.settings.answer_window_ms,
            false => 0,
        }
    }

    /// The dialog closes; the notice reaches the person as an ephemeral post.
    fn told(&self, notice: Notice, mut effects: Vec<Effect>) -> Decision {
        let text = notice.text(Subject::Submission);
        // Shown as the person's own, like Mattermost's notices.
        let post = json!({"user_id": self.place.user_id, "channel_id": self.place.session.channel_id, "message": text});
        effects.push(Effect::SendEphemeral {
            user_id: self.place.user_id.to_owned(),
            post: to_raw_value(&post).expect("a post serializes"),
        });
        Decision::http(effects, 200, "{}".into())
    }

    fn answered(&self, answer: &RawValue, facts: Facts<'_>) -> Result<Outcome, Refusal> {
        let answer = read_submission_answer(answer).map_err(|reason| Refusal::Internal {
            detail: format!("the answer handed to the submission is not one: {reason}"),
        })?;
        // A next form changes the session: the copies lookups read go (the errors' session
        // is the one they read).
        let mut changed = Vec::new();
        let (body, write) = match answer {
            SubmissionAnswer::Close => {
                return Ok(Outcome::Decided(Decision::http(
                    Vec::new(),
                    200,
                    "{}".into(),
                )))
            }
            // The session this submission consumed, given back (nobody else can have stored
            // one under its key since): the person may submit again.
            SubmissionAnswer::Errors { error, errors } => (
                shown_errors(&self.place.session.dialog, error, errors),
                self.place.given_back(self.ctx),
            ),
            SubmissionAnswer::Form { raw, dialog } => {
                let (form, next) = self.place.next_form(raw, dialog);
                let store = Fact::KvCreate {
                    key: session_key(self.place.session_id),
                    value: to_raw_value(&next).expect("a session serializes"),
                    expire_in_seconds: next.remaining_s(self.ctx.now_ms),
                };
                changed = forget(self.place.session_id, self.ctx);
                (json!({"type": "form", "form": form}), store)
            }
        };
        let f: SessionWrite = facts.read()?;
        Ok(Outcome::Decided(match f.session_written {
            None => return Ok(Ask::one("session_written", write).into()),
            Some(Answer::Found(true)) => Decision::http(changed, 200, body.to_string()),
            Some(_) => not_saved(),
        }))
    }
}

/// The bot's errors as Mattermost shows them: each beside its field, and those naming no field
/// of the dialog above the fields (Mattermost would show them nowhere, and the form would seem
/// stuck).
fn shown_errors(
    dialog: &Dialog,
    error: Option<String>,
    mut errors: BTreeMap<String, String>,
) -> Value {
    let (known, unknown): (BTreeMap<_, _>, BTreeMap<_, _>) = std::mem::take(&mut errors)
        .into_iter()
        .partition(|(name, _)| dialog.elements.iter().any(|e| e.name == *name));
    let mut lines: Vec<String> = error.into_iter().collect();
    lines.extend(
        unknown
            .into_iter()
            .map(|(name, text)| format!("{name}: {text}")),
    );
    let mut body = Map::new();
    if !lines.is_empty() {
        body.insert("error".into(), Value::from(lines.join("\n")));
    }
    if !known.is_empty() {
        body.insert("errors".into(), json!(known));
    }
    Value::Object(body)
}

/// A refresh: the values so far go to the bot as `dialog_refresh`; its `form` redraws the
/// dialog. Nothing is consumed. A bot that does not subscribe, or does not answer, leaves the
/// form as it is.
fn refreshed(
    place: &Where<'_>,
    submitted: &Map<String, Value>,
    recipient: &UserId,
    ctx: &Context,
    facts: &SubmitFacts<'_>,
    raw_facts: Facts<'_>,
) -> Result<Step, Refusal> {
    if facts.registry.is_none() {
        let mut ask = Ask::default();
        delivery::ask_registry(&mut ask, &facts.registry, &facts.expand, recipient);
        return Ok(Step::Ask(ask));
    }
    let values = known_values(&place.session.dialog, submitted);
    let data = place.event(&values, false, ctx);
    let sender = RefreshSender { place, ctx };
    let outgoing = delivery::Outgoing {
        bot: recipient,
        event: DIALOG_REFRESH,
        data,
        event_id: EventId::from_entropy(ctx.entropy),
        from: &sender,
        before: Vec::new(),
        about: place.about(),
    };
    match delivery::deliver(outgoing, ctx, raw_facts)? {
        Some(outcome) => Ok(Step::Delivered(outcome)),
        None => Ok(Step::Done(Decision::http(Vec::new(), 200, "{}".into()))),
    }
}

/// The values of the dialog's own fields only: a refresh is not checked as a submission (the
/// form is not finished), but names nothing the dialog does not have.
fn known_values(dialog: &Dialog, submitted: &Map<String, Value>) -> Map<String, Value> {
    submitted
        .iter()
        .filter(|(name, _)| dialog.elements.iter().any(|e| e.name == **name))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The person changed a field marked `refresh` and waits for the form to be redrawn.
struct RefreshSender<'a> {
    place: &'a Where<'a>,
    ctx: &'a Context,
}

impl Sender for RefreshSender<'_> {
    fn window_ms(&self, ctx: &Context) -> u32 {
        delivery::transient_window_ms(ctx)
    }

    fn kept(&self) -> bool {
        false
    }

    /// The form stays as it is; the log says why.
    fn told(&self, notice: Notice, mut effects: Vec<Effect>) -> Decision {
        effects.push(delivery::transient_log(
            notice,
            "refresh",
            self.place.session_id,
        ));
        Decision::http(effects, 200, "{}".into())
    }

    fn answered(&self, answer: &RawValue, facts: Facts<'_>) -> Result<Outcome, Refusal> {
        let answer = read_refresh_answer(answer).map_err(|reason| Refusal::Internal {
            detail: format!("the answer handed to the refresh is not one: {reason}"),
        })?;
        let unchanged = || Outcome::Decided(Decision::http(Vec::new(), 200, "{}".into()));
        let Some(SubmissionAnswer::Form { raw, dialog }) = answer else {
            return Ok(unchanged());
        };
        let (form, next) = self.place.next_form(raw, dialog);
        let f: SessionWrite = facts.read()?;
        match f.session_written {
            // Only over the session as it was read: one submitted (or redrawn) meanwhile is
            // not brought back.
            None => Ok(Ask::one(
                "session_written",
                Fact::KvCas {
                    key: session_key(self.place.session_id),
                    old: self.place.raw_session.get().to_owned(),
                    new: to_raw_value(&next).expect("a session serializes"),
                    expire_in_seconds: next.remaining_s(self.ctx.now_ms),
                },
            )
            .into()),
            // The lookups of the redrawn form's selects must not read the form before it.
            Some(Answer::Found(true)) => Ok(Outcome::Decided(Decision::http(
                forget(self.place.session_id, self.ctx),
                200,
                json!({"type": "form", "form": form}).to_string(),
            ))),
            Some(_) => Ok(unchanged()),
        }
    }
}
