//! Silence tests: validation, lifecycle with time as a parameter, matching and persistence.

use super::*;

const MIN: Millis = 60_000;
const T0: Millis = 1_700_000_000_000;

fn silence(matchers: &str, starts: Millis, ends: Millis) -> Silence {
    Silence {
        id: String::new(),
        matchers: api_matchers(matchers).unwrap(),
        starts_at: starts,
        ends_at: ends,
        updated_at: 0,
        created_by: "ops@example.org".into(),
        comment: "maintenance".into(),
    }
}

fn labels(s: &str) -> LabelSet {
    s.split_whitespace()
        .map(|kv| kv.split_once('=').unwrap())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn check(s: Silence, expect: &str) {
    let got = match Silences::default().create(s, T0) {
        Ok(_) => "ok".to_string(),
        Err(e) => e.to_string(),
    };
    assert_eq!(got, expect);
}

#[test]
fn validation() {
    check(silence(r#"alertname="Disk""#, T0, T0 + MIN), "ok");
    check(
        silence(r#"alertname=~".*""#, T0, T0 + MIN),
        "invalid silence: at least one matcher must not match the empty string",
    );
    check(
        silence(r#"a="x""#, T0 + MIN, T0),
        "invalid silence: end time must not be before start time",
    );
    check(
        silence(r#"a="x""#, T0 - 2 * MIN, T0 - MIN),
        "invalid silence: end time can't be in the past",
    );
    let mut s = silence(r#"a="x""#, T0, T0 + MIN);
    s.comment = " ".into();
    check(s, "invalid silence: comment missing");
    let mut s = silence(r#"a="x""#, T0, T0 + MIN);
    s.created_by.clear();
    check(s, "invalid silence: creator information missing");
    let mut s = silence(r#"a="x""#, T0, T0 + MIN);
    s.matchers[0].is_regex = true;
    s.matchers[0].value = "(".into();
    check(s, "invalid silence: invalid regex \"(\": unclosed group");
    let mut s = silence(r#"a="x""#, T0, T0 + MIN);
    s.matchers.clear();
    check(s, "invalid silence: at least one matcher required");
}

#[test]
fn lifecycle_create_match_expire() {
    let mut store = Silences::default();
    let now_id = store
        .create(
            silence(
                r#"alertname="Disk", instance=~"db.*""#,
                T0 - MIN,
                T0 + 60 * MIN,
            ),
            T0,
        )
        .unwrap();
    let later_id = store
        .create(silence(r#"team="b""#, T0 + 10 * MIN, T0 + 20 * MIN), T0)
        .unwrap();
    assert_ne!(now_id, later_id);
    assert_eq!(
        store.get(&now_id).unwrap().starts_at,
        T0,
        "past start becomes now"
    );
    let disk = labels("alertname=Disk instance=db1 team=a");
    assert!(store.is_silenced(&disk, T0));
    assert!(!store.is_silenced(&labels("alertname=Disk instance=web1 team=a"), T0));
    assert_eq!(
        store.silenced_by(&labels("team=b"), T0),
        Vec::<&str>::new(),
        "pending"
    );
    assert_eq!(
        store.silenced_by(&labels("team=b"), T0 + 15 * MIN),
        vec![later_id.as_str()]
    );
    assert_eq!(store.list(Some(SilenceState::Pending), T0).len(), 1);
    assert_eq!(store.list(Some(SilenceState::Active), T0).len(), 1);

    store.expire(&now_id, T0 + 5 * MIN).unwrap();
    assert!(!store.is_silenced(&disk, T0 + 5 * MIN));
    assert_eq!(
        store.get(&now_id).unwrap().state(T0 + 5 * MIN),
        SilenceState::Expired
    );
    assert_eq!(
        store.expire(&now_id, T0 + 6 * MIN),
        Err(SilenceError::AlreadyExpired(now_id.clone()))
    );
    store.expire(&later_id, T0 + 6 * MIN).unwrap();
    assert_eq!(
        store.get(&later_id).unwrap().state(T0 + 6 * MIN),
        SilenceState::Expired,
        "pending expires too"
    );
    assert_eq!(
        store.expire("nope", T0),
        Err(SilenceError::NotFound("nope".into()))
    );
    assert_eq!(
        store.list(Some(SilenceState::Expired), T0 + 7 * MIN).len(),
        2
    );
    store.gc(T0 + 7 * MIN + 120 * 60 * MIN, 120 * 60 * MIN);
    assert!(store.list(None, T0).is_empty());
}

#[test]
fn json_round_trip_uses_alertmanager_field_names() {
    let mut store = Silences::default();
    store
        .create(silence(r#"a!~"x|y", b="1""#, T0, T0 + MIN), T0)
        .unwrap();
    let json = serde_json::to_string(&store.to_saved()).unwrap();
    assert!(json.contains(r#""isRegex":true,"isEqual":false"#), "{json}");
    assert!(json.contains(r#""createdBy":"ops@example.org""#), "{json}");
    let back = Silences::from_saved(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(back.to_saved(), store.to_saved());
    assert!(back.is_silenced(&labels("a=z b=1"), T0));
    assert!(!back.is_silenced(&labels("a=x b=1"), T0));
}

proptest::proptest! {
    /// Law: a silence is active exactly on [startsAt, endsAt).
    #[test]
    fn active_exactly_in_window(start in 0i64..1000, len in 1i64..1000, probe in -10i64..2100) {
        let mut store = Silences::default();
        store.create(silence(r#"a="1""#, T0 + start, T0 + start + len), T0).unwrap();
        let inside = probe >= start && probe < start + len;
        proptest::prop_assert_eq!(store.is_silenced(&labels("a=1"), T0 + probe), inside);
    }
}
