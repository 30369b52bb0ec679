//! Watcher tests on real files in temp directories: every edit pattern gives exactly one signal.
//!
//! "Exactly one" is checked as: wait (with a deadline) for the first signal, then wait a bounded
//! quiet window in which a second signal must NOT arrive. The window is sound because the whole
//! edit finished before we started waiting, the kernel queues inotify events synchronously with the
//! syscalls that cause them, and a second signal could only come from an event of this burst
//! delivered after the first signal fired — such an event would fire at most one debounce window
//! after arriving. So waiting `2 × window + slack` after the first signal catches any split burst.
//! The debounce window is 200 ms and the settle window 50 ms here (defaults 50 ms and 5 ms) so that
//! the steps of one edit stay one burst even when the 2-core CI machine is busy; the coalescing
//! rules do not depend on the lengths.
//!
//! The completion rules (close-after-write and rename-into-place end a burst after the settle
//! window) are checked with a 60 s debounce window: a signal that arrives within the 10 s deadline
//! can only have come through the settle window, and a writer that has not closed its file yet must
//! stay unsignalled for the quiet window.

use std::fs;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use c5store::watch::{Backend, ChangeHint, WatchMode, WatchOptions, Watcher};

const WINDOW: Duration = Duration::from_millis(200);
const SETTLE: Duration = Duration::from_millis(50);
const FIRST_DEADLINE: Duration = Duration::from_secs(10);

fn quiet_window() -> Duration {
    WINDOW * 2 + Duration::from_millis(300)
}

fn options() -> WatchOptions {
    WatchOptions::default()
        .debounce(WINDOW)
        .settle(SETTLE)
        .mode(WatchMode::Native)
}

/// Only completion events can end a burst before the 10 s deadline.
fn completion_only() -> WatchOptions {
    WatchOptions::default()
        .debounce(Duration::from_secs(60))
        .max_wait(Duration::from_secs(120))
        .settle(SETTLE)
        .mode(WatchMode::Native)
}

fn start(paths: &[&Path], options: WatchOptions) -> (Watcher, Receiver<ChangeHint>) {
    let (tx, rx) = mpsc::channel();
    let watcher = Watcher::start(paths.iter().copied(), options, move |hint: &ChangeHint| {
        let _ = tx.send(hint.clone());
    })
    .expect("start watcher");
    (watcher, rx)
}

#[track_caller]
fn expect_signal(rx: &Receiver<ChangeHint>, what: &str) -> ChangeHint {
    rx.recv_timeout(FIRST_DEADLINE)
        .unwrap_or_else(|e| panic!("no change signal within {FIRST_DEADLINE:?} after {what}: {e}"))
}

#[track_caller]
fn expect_quiet(rx: &Receiver<ChangeHint>, what: &str) {
    match rx.recv_timeout(quiet_window()) {
        Err(RecvTimeoutError::Timeout) => {}
        Ok(hint) => panic!("unexpected extra signal after {what}: {hint:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("watcher stopped after {what}"),
    }
}

#[track_caller]
fn expect_exactly_one(rx: &Receiver<ChangeHint>, what: &str) -> ChangeHint {
    let hint = expect_signal(rx, what);
    expect_quiet(rx, what);
    hint
}

#[test]
fn in_place_edit_signals_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let (w, rx) = start(&[&file], options());
    assert_eq!(w.backend(), Backend::Native);

    fs::write(&file, "a: 2\n").unwrap();
    let hint = expect_exactly_one(&rx, "an in-place write");
    assert!(
        hint.paths.iter().any(|p| p.ends_with("app.yaml")),
        "{hint:?}"
    );

    // appending through an open handle is an in-place edit too
    use std::io::Write;
    let mut f = fs::OpenOptions::new().append(true).open(&file).unwrap();
    f.write_all(b"b: 3\n").unwrap();
    f.sync_all().unwrap();
    drop(f);
    expect_exactly_one(&rx, "an append");
}

#[test]
fn atomic_rename_save_signals_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let (_w, rx) = start(&[&file], options());

    let tmp = dir.path().join(".app.yaml.swp");
    fs::write(&tmp, "a: 2\n").unwrap();
    fs::rename(&tmp, &file).unwrap();
    expect_exactly_one(&rx, "write temp + rename");

    // a second atomic save still works: the watch is on the directory, not the replaced inode
    fs::write(&tmp, "a: 3\n").unwrap();
    fs::rename(&tmp, &file).unwrap();
    expect_exactly_one(&rx, "a second atomic save");
}

#[test]
fn delete_and_recreate_signals_once_and_keeps_watching() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.toml");
    fs::write(&file, "a = 1\n").unwrap();
    let (_w, rx) = start(&[&file], options());

    fs::remove_file(&file).unwrap();
    fs::write(&file, "a = 2\n").unwrap();
    expect_exactly_one(&rx, "delete + re-create in one burst");

    fs::remove_file(&file).unwrap();
    expect_exactly_one(&rx, "a delete alone");
    fs::write(&file, "a = 3\n").unwrap();
    expect_exactly_one(&rx, "re-creating the deleted file");
    fs::write(&file, "a = 4\n").unwrap();
    expect_exactly_one(&rx, "editing the re-created file");
}

/// The layout and update sequence of Kubernetes' AtomicWriter (ConfigMap/Secret volumes).
#[cfg(unix)]
#[test]
fn configmap_symlink_swap_signals_once() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let v1 = root.join("..2026_11_25_10_00_00.000000001");
    fs::create_dir(&v1).unwrap();
    fs::write(v1.join("app.yaml"), "a: 1\n").unwrap();
    symlink(v1.file_name().unwrap(), root.join("..data")).unwrap();
    let file = root.join("app.yaml");
    symlink("..data/app.yaml", &file).unwrap();
    let (_w, rx) = start(&[&file], options());

    let swap = |from: &Path, name: &str, content: &str| {
        let next = root.join(name);
        fs::create_dir(&next).unwrap();
        fs::write(next.join("app.yaml"), content).unwrap();
        symlink(name, root.join("..data_tmp")).unwrap();
        fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
        fs::remove_dir_all(from).unwrap();
        next
    };
    let v2 = swap(&v1, "..2026_11_25_10_05_00.000000002", "a: 2\n");
    assert_eq!(fs::read_to_string(&file).unwrap(), "a: 2\n");
    expect_exactly_one(&rx, "the first ..data swap");
    swap(&v2, "..2026_11_25_10_10_00.000000003", "a: 3\n");
    expect_exactly_one(&rx, "the second ..data swap");
}

#[test]
fn directory_source_add_remove_and_recreate() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf.d");
    fs::create_dir(&conf).unwrap();
    fs::write(conf.join("10-base.yaml"), "a: 1\n").unwrap();
    let (_w, rx) = start(&[&conf], options());

    fs::write(conf.join("20-extra.yaml"), "b: 1\n").unwrap();
    expect_exactly_one(&rx, "adding a file to the directory");
    fs::remove_file(conf.join("10-base.yaml")).unwrap();
    expect_exactly_one(&rx, "removing a file from the directory");

    fs::remove_dir_all(&conf).unwrap();
    expect_exactly_one(&rx, "removing the directory");
    fs::create_dir(&conf).unwrap();
    fs::write(conf.join("10-base.yaml"), "a: 2\n").unwrap();
    expect_exactly_one(&rx, "re-creating the directory with a file");
    // the re-created directory is watched again
    fs::write(conf.join("10-base.yaml"), "a: 3\n").unwrap();
    expect_exactly_one(&rx, "editing inside the re-created directory");
}

#[test]
fn unrelated_siblings_and_reads_do_not_signal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let (_w, rx) = start(&[&file], options());

    fs::write(dir.path().join("other.yaml"), "x: 1\n").unwrap();
    fs::write(dir.path().join("app.yaml.tmp"), "x: 1\n").unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap(), "a: 1\n");
    expect_quiet(&rx, "sibling writes and a read of the target");
    fs::write(&file, "a: 2\n").unwrap();
    expect_exactly_one(&rx, "the target's own edit");
}

#[test]
fn missing_parent_directories_are_picked_up_when_created() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("etc/app/app.yaml");
    let (_w, rx) = start(&[&file], options());

    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, "a: 1\n").unwrap();
    expect_exactly_one(&rx, "creating the parents and the file");
    fs::write(&file, "a: 2\n").unwrap();
    expect_exactly_one(&rx, "editing the newly created file");
}

#[test]
fn burst_signal_trails_the_last_write() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "n: 0\n").unwrap();
    let (_w, rx) = start(&[&file], options());

    // 50 writes through a handle that stays open: no completion event, only the trailing window
    let mut f = fs::OpenOptions::new().append(true).open(&file).unwrap();
    for n in 1..=50 {
        f.write_all(format!("n{n}: {n}\n").as_bytes()).unwrap();
    }
    #[allow(clippy::disallowed_methods)] // the test measures real elapsed time
    let last_write = Instant::now();
    expect_signal(&rx, "50 quick writes");
    // trailing window: the signal cannot fire before a full window after the last event
    assert!(
        last_write.elapsed() >= WINDOW,
        "fired {:?} after the last write",
        last_write.elapsed()
    );
    expect_quiet(&rx, "50 quick writes");
    // closing the handle ends the write: one more signal
    drop(f);
    expect_exactly_one(&rx, "closing the written file");

    // 50 quick whole-file writes, each closed: the closes coalesce into one signal
    for n in 1..=50 {
        fs::write(&file, format!("n: {n}\n")).unwrap();
    }
    expect_exactly_one(&rx, "50 quick closed writes");
}

#[test]
fn a_completed_write_signals_without_waiting_for_the_window() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let (_w, rx) = start(&[&file], completion_only());

    // a half-written file (still open for writing) is not signalled...
    let mut f = fs::File::create(&file).unwrap();
    f.write_all(b"a: ").unwrap();
    f.flush().unwrap();
    expect_quiet(&rx, "a write that has not been closed");
    // ...closing it is, long before the 60 s window
    f.write_all(b"2\n").unwrap();
    drop(f);
    expect_exactly_one(&rx, "close after writing");
    assert_eq!(fs::read_to_string(&file).unwrap(), "a: 2\n");

    fs::write(&file, "a: 3\n").unwrap();
    expect_exactly_one(&rx, "an in-place fs::write");

    // atomic save: the rename into place completes it
    let tmp = dir.path().join(".app.yaml.tmp");
    fs::write(&tmp, "a: 4\n").unwrap();
    fs::rename(&tmp, &file).unwrap();
    expect_exactly_one(&rx, "write temp + rename into place");

    // delete + re-create: the removal does not end the burst, the re-created file's close does
    fs::remove_file(&file).unwrap();
    fs::write(&file, "a: 5\n").unwrap();
    expect_exactly_one(&rx, "delete + re-create");
}

#[test]
fn moving_the_file_away_is_not_a_completion() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let (_w, rx) = start(&[&file], completion_only());

    // an editor's save with a backup: rename the original away, write a new file, drop the backup
    let backup = dir.path().join("app.yaml~");
    fs::rename(&file, &backup).unwrap();
    expect_quiet(&rx, "renaming the file away");
    fs::write(&file, "a: 2\n").unwrap();
    fs::remove_file(&backup).unwrap();
    expect_exactly_one(&rx, "writing the new file");
}

#[cfg(unix)]
#[test]
fn configmap_symlink_swap_completes_on_the_rename() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let v1 = root.join("..2026_11_25_10_00_00.000000001");
    fs::create_dir(&v1).unwrap();
    fs::write(v1.join("app.yaml"), "a: 1\n").unwrap();
    symlink(v1.file_name().unwrap(), root.join("..data")).unwrap();
    let file = root.join("app.yaml");
    symlink("..data/app.yaml", &file).unwrap();
    let (_w, rx) = start(&[&file], completion_only());

    let v2 = root.join("..2026_11_25_10_05_00.000000002");
    fs::create_dir(&v2).unwrap();
    fs::write(v2.join("app.yaml"), "a: 2\n").unwrap();
    symlink(v2.file_name().unwrap(), root.join("..data_tmp")).unwrap();
    fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    // the old version's removal is cleanup: it must not re-arm the 60 s window
    fs::remove_dir_all(&v1).unwrap();
    expect_signal(&rx, "the ..data rename and cleanup");
}

#[test]
fn polling_backend_detects_same_size_rewrites() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let opts = WatchOptions::default()
        .mode(WatchMode::Poll)
        .poll_interval(Duration::from_millis(20))
        .debounce(Duration::from_millis(10));
    let (w, rx) = start(&[&file], opts);
    assert_eq!(w.backend(), Backend::Poll);

    // same length, same second: only a content comparison notices
    fs::write(&file, "a: 2\n").unwrap();
    let hint = expect_signal(&rx, "a same-size rewrite under polling");
    assert_eq!(hint.paths, vec![file.clone()]);
    fs::remove_file(&file).unwrap();
    expect_signal(&rx, "a delete under polling");
    fs::write(&file, "a: 3\n").unwrap();
    expect_signal(&rx, "a re-create under polling");
}

#[test]
fn panicking_callback_does_not_stop_the_watcher() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let (tx, rx) = mpsc::channel();
    let mut calls = 0;
    let _w = Watcher::start([&file], options(), move |_: &ChangeHint| {
        calls += 1;
        tx.send(calls).unwrap();
        if calls == 1 {
            panic!("subscriber bug");
        }
    })
    .unwrap();
    fs::write(&file, "a: 2\n").unwrap();
    assert_eq!(rx.recv_timeout(FIRST_DEADLINE).unwrap(), 1);
    fs::write(&file, "a: 3\n").unwrap();
    assert_eq!(rx.recv_timeout(FIRST_DEADLINE).unwrap(), 2);
}

#[test]
fn dropping_the_watcher_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    fs::write(&file, "a: 1\n").unwrap();
    let (w, rx) = start(&[&file], options());
    drop(w);
    // the thread was joined and its callback (holding the sender) dropped
    assert!(matches!(
        rx.try_recv(),
        Err(mpsc::TryRecvError::Disconnected)
    ));
}
