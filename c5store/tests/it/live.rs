//! The live store on real files: every edit pattern reloads, bad edits keep the last good snapshot
//! and are reported with file:line:col, subscribers get exactly what changed under their prefix.
//!
//! Reloads triggered by the watcher are awaited with `wait_until` on an observable condition (the
//! value or version the edit should produce). Subscription tests call `store.reload()` directly on
//! a store without a watcher, so each reload is one deterministic step.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use c5_testkit::wait_until;
use c5store::watch::{WatchMode, WatchOptions};
use c5store::{C5Store, ChangeSet, ReloadError, StartError, Store};

const DEADLINE: Duration = Duration::from_secs(10);
const CALL: Duration = Duration::from_secs(5);

fn live_file(file: &Path) -> Store {
    C5Store::builder()
        .file(file)
        .live()
        .watch(WatchOptions::default().mode(WatchMode::Native))
        .start()
        .unwrap()
}

fn manual(file: &Path) -> Store {
    C5Store::builder()
        .file(file)
        .live()
        .no_watch()
        .start()
        .unwrap()
}

#[track_caller]
fn wait_value(store: &Store, key: &str, want: i64) {
    wait_until(DEADLINE, &format!("{key} == {want}"), || {
        store.current().get::<i64>(key).ok() == Some(want)
    });
}

/// Collects a subscriber's change sets into a channel.
fn recorder() -> (impl FnMut(&ChangeSet) + Send + 'static, Receiver<ChangeSet>) {
    let (tx, rx) = mpsc::channel();
    (move |cs: &ChangeSet| tx.send(cs.clone()).unwrap(), rx)
}

fn summary(cs: &ChangeSet) -> Vec<String> {
    cs.changes().iter().map(|c| format!("{c:?}")).collect()
}

#[test]
fn startup_is_the_first_reload() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let store = manual(&file);
    assert_eq!(store.version(), 1);
    assert_eq!(store.current().get::<i64>("a").unwrap(), 1);
    assert!(store.last_error().is_none());
    assert_eq!(store.watch_backend(), None);
}

#[test]
fn startup_with_a_bad_file_fails_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\nb: [unclosed\n").unwrap();
    let err = C5Store::builder().file(&file).live().start().unwrap_err();
    let StartError::Reload(e) = &err else {
        panic!("expected a reload error, got {err:?}")
    };
    assert_eq!(e.kept_version(), 0);
    let msg = err.to_string();
    assert!(msg.contains(&format!("{}:", file.display())), "{msg}");
    assert!(
        msg.contains("app.yaml:2:") || msg.contains("app.yaml:3:"),
        "{msg}"
    );
}

#[test]
fn in_place_edit_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let store = live_file(&file);
    fs::write(&file, "a: 2\n").unwrap();
    wait_value(&store, "a", 2);
    assert_eq!(store.version(), 2);
}

#[test]
fn atomic_rename_save_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.toml");
    fs::write(&file, "a = 1\n").unwrap();
    let store = live_file(&file);
    for n in 2..=3 {
        let tmp = dir.path().join("app.toml.tmp");
        fs::write(&tmp, format!("a = {n}\n")).unwrap();
        fs::rename(&tmp, &file).unwrap();
        wait_value(&store, "a", n);
    }
}

#[cfg(unix)]
#[test]
fn configmap_symlink_swap_reloads() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let v1 = root.join("..2026_11_25_10_00_00.1");
    fs::create_dir(&v1).unwrap();
    fs::write(v1.join("app.json"), r#"{"a": 1}"#).unwrap();
    symlink(v1.file_name().unwrap(), root.join("..data")).unwrap();
    symlink("..data/app.json", root.join("app.json")).unwrap();
    let store = live_file(&root.join("app.json"));
    assert_eq!(store.current().get::<i64>("a").unwrap(), 1);

    let v2 = root.join("..2026_11_25_10_05_00.2");
    fs::create_dir(&v2).unwrap();
    fs::write(v2.join("app.json"), r#"{"a": 2}"#).unwrap();
    symlink(v2.file_name().unwrap(), root.join("..data_tmp")).unwrap();
    fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    fs::remove_dir_all(&v1).unwrap();
    wait_value(&store, "a", 2);
}

#[test]
fn delete_then_recreate_keeps_last_good_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let store = live_file(&file);
    let (tx, errors) = mpsc::channel();
    let _errs = store.on_error(move |e: &Arc<ReloadError>| tx.send(e.to_string()).unwrap());

    fs::remove_file(&file).unwrap();
    // a required file that is gone is an error: the last good snapshot stays
    let msg = errors.recv_timeout(DEADLINE).unwrap();
    assert!(msg.contains("not found"), "{msg}");
    assert_eq!(store.current().get::<i64>("a").unwrap(), 1);
    assert_eq!(store.version(), 1);

    fs::write(&file, "a: 2\n").unwrap();
    wait_value(&store, "a", 2);
    assert_eq!(store.version(), 2);
    assert!(store.last_error().is_none());
}

#[test]
fn directory_source_add_and_remove_files_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf.d");
    fs::create_dir(&conf).unwrap();
    fs::write(conf.join("10-base.yaml"), "a: 1\nb: 1\n").unwrap();
    let store = C5Store::builder().dir(&conf).live().start().unwrap();
    assert_eq!(store.watch_backend(), Some(c5store::watch::Backend::Native));

    fs::write(conf.join("20-override.yaml"), "b: 2\n").unwrap();
    wait_value(&store, "b", 2);
    fs::remove_file(conf.join("20-override.yaml")).unwrap();
    wait_value(&store, "b", 1);

    // the whole directory replaced (removed, re-created with new content)
    fs::remove_dir_all(&conf).unwrap();
    fs::create_dir(&conf).unwrap();
    fs::write(conf.join("10-base.yaml"), "a: 7\nb: 7\n").unwrap();
    wait_value(&store, "a", 7);
    // and it is still watched
    fs::write(conf.join("10-base.yaml"), "a: 8\nb: 8\n").unwrap();
    wait_value(&store, "a", 8);
}

#[test]
fn bad_edit_keeps_last_good_reports_location_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "db:\n  port: 5432\n").unwrap();
    let store = live_file(&file);
    let (tx, errors) = mpsc::channel();
    let _errs = store.on_error(move |e: &Arc<ReloadError>| tx.send(e.clone()).unwrap());
    let (cb, changes) = recorder();
    let _sub = store.subscribe("", cb).unwrap();
    let before = store.current();

    fs::write(&file, "db:\n  port: 5433\n  host: [oops\n").unwrap();
    let err = errors.recv_timeout(DEADLINE).unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("{}:", file.display())),
        "no file in: {msg}"
    );
    assert!(
        msg.contains("app.yaml:3:") || msg.contains("app.yaml:4:"),
        "no line:col in: {msg}"
    );
    assert_eq!(err.kept_version(), 1);
    assert_eq!(
        store.version(),
        1,
        "a failed candidate never replaces the current snapshot"
    );
    assert_eq!(store.current().get::<u16>("db.port").unwrap(), 5432);
    assert!(Arc::ptr_eq(&before, &store.current()));
    assert!(store.last_error().is_some());
    assert!(
        changes.try_recv().is_err(),
        "subscribers are not told about rejected candidates"
    );

    fs::write(&file, "db:\n  port: 5433\n").unwrap();
    let cs = changes.recv_timeout(DEADLINE).unwrap();
    assert_eq!(summary(&cs), ["db.port: 5432 -> 5433"]);
    assert_eq!((cs.old_version(), cs.new_version()), (1, 2));
    assert_eq!(store.current().get::<u16>("db.port").unwrap(), 5433);
    assert!(store.last_error().is_none());
}

#[derive(serde::Deserialize)]
#[allow(dead_code)] // only its shape matters: typed extraction validates it
struct Db {
    port: u16,
    host: String,
}

#[test]
fn typed_extraction_and_validator_reject_bad_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "db:\n  port: 5432\n  host: h\n").unwrap();
    let store = C5Store::builder()
        .file(&file)
        .live()
        .no_watch()
        .validate_as::<Db>("db")
        .validator(|snap| {
            let port: u16 = snap.get("db.port").unwrap_or(0);
            if port < 1024 {
                return Err(vec![c5store::Invalid::new(
                    "db.port",
                    "must be at least 1024",
                )]);
            }
            Ok(())
        })
        .start()
        .unwrap();

    fs::write(&file, "db:\n  port: not-a-port\n  host: h\n").unwrap();
    let err = store.reload().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("db.port") && msg.contains("app.yaml:2:9"),
        "{msg}"
    );
    assert_eq!(store.current().get::<u16>("db.port").unwrap(), 5432);

    fs::write(&file, "db:\n  host: h\n  port: 80\n").unwrap();
    let msg = store.reload().unwrap_err().to_string();
    assert!(
        msg.contains("must be at least 1024") && msg.contains("app.yaml:3:9"),
        "{msg}"
    );
    assert_eq!(store.version(), 1);

    fs::write(&file, "db:\n  port: 8080\n  host: h\n").unwrap();
    let r = store.reload().unwrap();
    assert_eq!((r.old_version, r.new_version, r.changed_leaves), (1, 2, 1));
}

#[test]
fn subscribers_see_only_their_subtree_root_sees_all() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "db:\n  port: 1\n  host: h\ncache:\n  ttl: 5\n").unwrap();
    let store = manual(&file);
    let (db_cb, db) = recorder();
    let (cache_cb, cache) = recorder();
    let (root_cb, root) = recorder();
    let (port_cb, port) = recorder();
    let _db = store.subscribe("db", db_cb).unwrap();
    let _cache = store.subscribe("cache", cache_cb).unwrap();
    let _root = store.subscribe("", root_cb).unwrap();
    let _port = store.subscribe("db.port", port_cb).unwrap();

    // reload 1 → 2 changes only db.host
    fs::write(&file, "db:\n  port: 1\n  host: x\ncache:\n  ttl: 5\n").unwrap();
    store.reload().unwrap();
    // reload 2 → 3 changes cache.ttl and db.port
    fs::write(&file, "db:\n  port: 2\n  host: x\ncache:\n  ttl: 6\n").unwrap();
    store.reload().unwrap();

    let cs = db.recv_timeout(CALL).unwrap();
    assert_eq!(summary(&cs), [r#"db.host: "h" -> "x""#]);
    assert_eq!(
        (cs.prefix(), cs.old_version(), cs.new_version()),
        ("db", 1, 2)
    );
    let cs = db.recv_timeout(CALL).unwrap();
    assert_eq!(summary(&cs), ["db.port: 1 -> 2"]);

    // the sibling change of reload 1 did not wake the cache subscriber: its first call is reload 2
    let cs = cache.recv_timeout(CALL).unwrap();
    assert_eq!((cs.old_version(), cs.new_version()), (2, 3));
    assert_eq!(summary(&cs), ["cache.ttl: 5 -> 6"]);
    assert_eq!(cs.snapshot().get::<i64>("cache.ttl").unwrap(), 6);

    // a single key: only reload 2 touched db.port
    let cs = port.recv_timeout(CALL).unwrap();
    assert_eq!(
        (cs.new_version(), summary(&cs)),
        (3, vec!["db.port: 1 -> 2".to_owned()])
    );

    // the root gets one change set per reload with everything in it
    assert_eq!(
        summary(&root.recv_timeout(CALL).unwrap()),
        [r#"db.host: "h" -> "x""#]
    );
    let cs = root.recv_timeout(CALL).unwrap();
    assert_eq!(summary(&cs), ["db.port: 1 -> 2", "cache.ttl: 5 -> 6"]);

    // an unchanged reload keeps the version and calls nobody: the next real change is the
    // first thing every subscriber sees after reload 2
    assert_eq!(store.reload().unwrap().new_version, 3);
    fs::write(&file, "db:\n  port: 2\n  host: x\ncache:\n  ttl: 7\n").unwrap();
    store.reload().unwrap();
    assert_eq!(root.recv_timeout(CALL).unwrap().new_version(), 4);
    assert_eq!(cache.recv_timeout(CALL).unwrap().new_version(), 4);
    assert!(db.try_recv().is_err() && port.try_recv().is_err());
}

#[test]
fn dropping_the_handle_unsubscribes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let store = manual(&file);
    let (cb, rx) = recorder();
    let sub = store.subscribe("a", cb).unwrap();
    assert_eq!(store.subscriber_count(), 1);
    drop(sub);
    assert_eq!(store.subscriber_count(), 0);
    fs::write(&file, "a: 2\n").unwrap();
    store.reload().unwrap();
    // the delivery thread ended and dropped the callback (and its sender) without calling it
    wait_until(DEADLINE, "the subscriber thread to end", || {
        matches!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected))
    });
}

#[test]
fn panicking_and_slow_subscribers_do_not_hold_up_others() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 0\n").unwrap();
    let store = manual(&file);

    let panics = Arc::new(AtomicUsize::new(0));
    let p = panics.clone();
    let _bad = store
        .subscribe("", move |_: &ChangeSet| {
            p.fetch_add(1, Ordering::SeqCst);
            panic!("subscriber bug");
        })
        .unwrap();
    // a subscriber stuck until the test opens the gate
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let gate_rx = Mutex::new(gate_rx);
    let (slow_tx, slow) = mpsc::channel();
    let _slow = store
        .subscribe("", move |cs: &ChangeSet| {
            gate_rx.lock().unwrap().recv().unwrap();
            slow_tx.send(cs.new_version()).unwrap();
        })
        .unwrap();
    let (cb, fast) = recorder();
    let _fast = store.subscribe("", cb).unwrap();

    for n in 1..=3 {
        fs::write(&file, format!("a: {n}\n")).unwrap();
        // returns although the slow subscriber is blocked
        store.reload().unwrap();
    }
    let versions: Vec<u64> = (0..3)
        .map(|_| fast.recv_timeout(CALL).unwrap().new_version())
        .collect();
    assert_eq!(versions, [2, 3, 4]);
    wait_until(DEADLINE, "3 panicking calls", || {
        panics.load(Ordering::SeqCst) == 3
    });
    assert!(slow.try_recv().is_err());
    for _ in 0..3 {
        gate_tx.send(()).unwrap();
    }
    let versions: Vec<u64> = (0..3).map(|_| slow.recv_timeout(CALL).unwrap()).collect();
    assert_eq!(
        versions,
        [2, 3, 4],
        "a slow subscriber still gets every change set, in order"
    );
}

#[test]
fn readers_keep_a_consistent_snapshot_and_versions_only_grow() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 0\nb: 0\n").unwrap();
    let store = manual(&file);
    let held = store.current();
    let mut last = store.version();
    for n in 1..=5 {
        fs::write(&file, format!("a: {n}\nb: {n}\n")).unwrap();
        let r = store.reload().unwrap();
        assert_eq!(r.old_version, last);
        assert!(r.new_version > last);
        last = r.new_version;
        let snap = store.current();
        assert_eq!(snap.get::<i64>("a").unwrap(), snap.get::<i64>("b").unwrap());
    }
    assert_eq!((held.version(), held.get::<i64>("a").unwrap()), (1, 0));
}

#[test]
fn polling_backend_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let opts = WatchOptions::default()
        .mode(WatchMode::Poll)
        .poll_interval(Duration::from_millis(25));
    let store = C5Store::builder()
        .file(&file)
        .live()
        .watch(opts)
        .start()
        .unwrap();
    assert_eq!(store.watch_backend(), Some(c5store::watch::Backend::Poll));
    fs::write(&file, "a: 2\n").unwrap();
    wait_value(&store, "a", 2);
}

#[test]
fn secrets_in_change_sets_are_redacted() {
    use c5store::Value;
    use c5store::secret::c5encval::{encrypt_age, parse_recipient};
    use c5store::secret::{Keyring, REDACTED};

    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/secrets");
    let key = fs::read_to_string(fixtures.join("alice.agekey")).unwrap();
    let recipient = key
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap();
    let recipients = [parse_recipient(recipient).unwrap()];
    let config = |user: &str, pw: &str| {
        let payload = encrypt_age(&recipients, pw.as_bytes()).unwrap();
        format!("db:\n  user: {user}\n  password:\n    .c5encval: [age, alice, \"{payload}\"]\n")
    };
    let mut keyring = Keyring::new();
    keyring.load_file(&fixtures.join("alice.agekey")).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, config("app", "old-hunter2")).unwrap();
    let store = C5Store::builder()
        .file(&file)
        .secrets(keyring)
        .live()
        .no_watch()
        .start()
        .unwrap();
    let (cb, rx) = recorder();
    let _sub = store.subscribe("db", cb).unwrap();

    // re-encrypting the same plaintext is not a change
    fs::write(&file, config("app", "old-hunter2")).unwrap();
    assert_eq!(store.reload().unwrap().changed_leaves, 0);

    fs::write(&file, config("app2", "new-hunter2")).unwrap();
    store.reload().unwrap();
    let cs = rx.recv_timeout(CALL).unwrap();
    let shown = format!("{cs:?} {:?}", cs.changes());
    assert!(!shown.contains("hunter2"), "plaintext leaked: {shown}");
    assert!(
        shown.contains(&format!("db.password: {REDACTED} -> {REDACTED}")),
        "{shown}"
    );
    assert!(shown.contains(r#"db.user: "app" -> "app2""#), "{shown}");
    let change = cs.get("db.password").unwrap();
    assert!(matches!(change.new, Some(Value::Secret(_))));
    // the subscriber can still read the new plaintext on purpose, through the snapshot
    assert_eq!(
        cs.snapshot().get::<String>("db.password").unwrap(),
        "new-hunter2"
    );
}

#[cfg(feature = "tokio")]
mod async_api {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn snapshot_receiver_and_change_stream() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.yaml");
        fs::write(&file, "db:\n  port: 1\ncache:\n  ttl: 1\n").unwrap();
        let store = manual(&file);
        let mut snaps = store.snapshots();
        assert_eq!(snaps.borrow_and_update().version(), 1);
        let mut db = store.changes("db").unwrap();

        fs::write(&file, "db:\n  port: 1\ncache:\n  ttl: 2\n").unwrap();
        store.reload().unwrap();
        fs::write(&file, "db:\n  port: 2\ncache:\n  ttl: 2\n").unwrap();
        store.reload().unwrap();

        snaps.changed().await.unwrap();
        assert_eq!(snaps.borrow_and_update().get::<i64>("db.port").unwrap(), 2);
        // the cache-only reload (version 2) is filtered out of the db stream
        let cs = tokio::time::timeout(CALL, db.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((cs.old_version(), cs.new_version()), (2, 3));
        assert_eq!(summary(&cs), ["db.port: 1 -> 2"]);
        drop(db);
        assert_eq!(store.subscriber_count(), 0);
    }
}
