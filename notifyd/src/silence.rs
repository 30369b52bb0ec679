//! Silences: matchers plus a time window, created by someone with a comment. Pure: every
//! operation takes `now` (Unix ms), and the store serializes to JSON for persistence.
//!
//! States follow Alertmanager: pending before `startsAt`, active until `endsAt`, then expired.
//! Validation follows its API: at least one matcher, every matcher valid, at least one matcher that
//! does not match the empty string, `endsAt` after `startsAt`, `createdBy` and `comment` set.
//! A start time in the past becomes `now`. Expiring an active silence ends it now; expiring a
//! pending one ends (and starts) it now.

use serde::{Deserialize, Serialize};

use crate::group::Millis;
use crate::matcher::{self, LabelSet, MatchOp, Matcher};
use crate::timeinterval::rfc3339;

/// A silence matcher in Alertmanager's API shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiMatcher {
    /// Label name.
    pub name: String,
    /// Value or regex.
    pub value: String,
    /// `=~` / `!~` when true.
    pub is_regex: bool,
    /// `=` / `=~` when true (default), `!=` / `!~` when false.
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

/// One silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Silence {
    /// Identifier.
    pub id: String,
    /// What it silences.
    pub matchers: Vec<ApiMatcher>,
    /// Start (Unix ms).
    pub starts_at: Millis,
    /// End (Unix ms).
    pub ends_at: Millis,
    /// Last change (Unix ms).
    pub updated_at: Millis,
    /// Who created it.
    pub created_by: String,
    /// Why.
    pub comment: String,
}

/// Where a silence is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    /// Not started yet.
    Pending,
    /// In effect.
    Active,
    /// Over.
    Expired,
}

/// A silence was refused or not found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SilenceError {
    /// The silence is invalid.
    #[error("invalid silence: {0}")]
    Invalid(String),
    /// No silence with that id.
    #[error("silence {0} not found")]
    NotFound(String),
    /// Already expired.
    #[error("silence {0} already expired")]
    AlreadyExpired(String),
}

impl Silence {
    /// State at `now`.
    pub fn state(&self, now: Millis) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now < self.ends_at {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }

    /// The matchers compiled.
    pub fn compiled(&self) -> Result<Vec<Matcher>, SilenceError> {
        self.matchers
            .iter()
            .map(|m| {
                let op = match (m.is_regex, m.is_equal) {
                    (false, true) => MatchOp::Equal,
                    (false, false) => MatchOp::NotEqual,
                    (true, true) => MatchOp::Regex,
                    (true, false) => MatchOp::NotRegex,
                };
                if !matcher::is_valid_label_name(&m.name) {
                    return Err(SilenceError::Invalid(format!(
                        "invalid label name {:?}",
                        m.name
                    )));
                }
                Matcher::new(&m.name, op, &m.value).map_err(|e| SilenceError::Invalid(e.0))
            })
            .collect()
    }

    /// A one-line summary for CLI listings.
    pub fn summary(&self, now: Millis) -> String {
        let ms: Vec<String> = self
            .compiled()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        format!(
            "{} {:?} {} {} -> {} {} {:?}",
            self.id,
            self.state(now),
            ms.join(","),
            rfc3339(Some(self.starts_at)),
            rfc3339(Some(self.ends_at)),
            self.created_by,
            self.comment
        )
    }
}

/// Builds API matchers from matcher text such as `alertname="Disk" instance=~"db.*"`.
pub fn api_matchers(text: &str) -> Result<Vec<ApiMatcher>, SilenceError> {
    let ms = matcher::parse_matchers(text).map_err(|e| SilenceError::Invalid(e.0))?;
    Ok(ms
        .into_iter()
        .map(|m| ApiMatcher {
            is_regex: matches!(m.op, MatchOp::Regex | MatchOp::NotRegex),
            is_equal: matches!(m.op, MatchOp::Equal | MatchOp::Regex),
            name: m.name,
            value: m.value,
        })
        .collect())
}

/// All silences, with compiled matchers cached.
#[derive(Debug, Clone, Default)]
pub struct Silences {
    items: Vec<(Silence, Vec<Matcher>)>,
    seq: u64,
}

impl Silences {
    /// Restores silences (e.g. loaded from JSON); invalid ones are refused.
    pub fn from_saved(saved: Vec<Silence>) -> Result<Self, SilenceError> {
        let mut s = Silences::default();
        for sil in saved {
            let m = sil.compiled()?;
            s.seq += 1;
            s.items.push((sil, m));
        }
        Ok(s)
    }

    /// The silences to persist.
    pub fn to_saved(&self) -> Vec<Silence> {
        self.items.iter().map(|(s, _)| s.clone()).collect()
    }

    /// Validates and adds a silence; returns its id. `id` in the input is ignored.
    pub fn create(&mut self, mut s: Silence, now: Millis) -> Result<String, SilenceError> {
        let compiled = validate(&s)?;
        if s.starts_at < now {
            s.starts_at = now;
        }
        if s.ends_at <= now {
            return Err(SilenceError::Invalid(
                "end time can't be in the past".into(),
            ));
        }
        self.seq += 1;
        s.id = make_id(&s, self.seq);
        s.updated_at = now;
        let id = s.id.clone();
        self.items.push((s, compiled));
        Ok(id)
    }

    /// Ends a silence now.
    pub fn expire(&mut self, id: &str, now: Millis) -> Result<(), SilenceError> {
        let (s, _) = self
            .items
            .iter_mut()
            .find(|(s, _)| s.id == id)
            .ok_or_else(|| SilenceError::NotFound(id.to_string()))?;
        match s.state(now) {
            SilenceState::Expired => return Err(SilenceError::AlreadyExpired(id.to_string())),
            SilenceState::Pending => {
                s.starts_at = now;
                s.ends_at = now;
            }
            SilenceState::Active => s.ends_at = now,
        }
        s.updated_at = now;
        Ok(())
    }

    /// Silences in the given state (all if `None`), in creation order.
    pub fn list(&self, state: Option<SilenceState>, now: Millis) -> Vec<&Silence> {
        self.items
            .iter()
            .map(|(s, _)| s)
            .filter(|s| state.is_none_or(|st| s.state(now) == st))
            .collect()
    }

    /// The silence with this id.
    pub fn get(&self, id: &str) -> Option<&Silence> {
        self.items.iter().map(|(s, _)| s).find(|s| s.id == id)
    }

    /// Ids of the active silences matching `labels` at `now`.
    pub fn silenced_by(&self, labels: &LabelSet, now: Millis) -> Vec<&str> {
        self.items
            .iter()
            .filter(|(s, m)| s.state(now) == SilenceState::Active && matcher::all_match(m, labels))
            .map(|(s, _)| s.id.as_str())
            .collect()
    }

    /// Whether any active silence matches `labels` at `now`.
    pub fn is_silenced(&self, labels: &LabelSet, now: Millis) -> bool {
        !self.silenced_by(labels, now).is_empty()
    }

    /// Drops silences expired for longer than `retention` (Alertmanager keeps them 120h).
    pub fn gc(&mut self, now: Millis, retention: Millis) {
        self.items
            .retain(|(s, _)| s.ends_at.saturating_add(retention) > now);
    }
}

fn validate(s: &Silence) -> Result<Vec<Matcher>, SilenceError> {
    if s.matchers.is_empty() {
        return Err(SilenceError::Invalid(
            "at least one matcher required".into(),
        ));
    }
    let compiled = s.compiled()?;
    if compiled.iter().all(|m| m.matches_value("")) {
        return Err(SilenceError::Invalid(
            "at least one matcher must not match the empty string".into(),
        ));
    }
    if s.ends_at < s.starts_at {
        return Err(SilenceError::Invalid(
            "end time must not be before start time".into(),
        ));
    }
    if s.created_by.trim().is_empty() {
        return Err(SilenceError::Invalid("creator information missing".into()));
    }
    if s.comment.trim().is_empty() {
        return Err(SilenceError::Invalid("comment missing".into()));
    }
    Ok(compiled)
}

/// A stable UUID-shaped id from the silence's content and a sequence number.
fn make_id(s: &Silence, seq: u64) -> String {
    let text = format!(
        "{seq}\u{0}{}\u{0}{}\u{0}{}\u{0}{:?}",
        s.created_by, s.comment, s.starts_at, s.matchers
    );
    let a = crate::group::fingerprint(&[("a".to_string(), text.clone())].into());
    let b = crate::group::fingerprint(&[("b".to_string(), text)].into());
    let h = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
#[path = "silence_tests.rs"]
mod tests;
