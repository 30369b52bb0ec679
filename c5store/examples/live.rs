//! Prints the change sets of a live store while you edit its files.
//!
//! ```text
//! cargo run -p c5store --example live -- config/app.yaml [more files or directories...]
//! cargo run -p c5store --example live            # creates a sample file in a temp directory
//! ```
//! Edit the file(s) in another terminal (in place, with an editor's atomic save, delete and
//! re-create, ...): each save prints one change set; a broken edit prints the error with its
//! file:line:col and the last good version stays in effect. Ctrl-C to stop.
#![allow(clippy::print_stdout)] // an example program talks to the terminal

use std::path::PathBuf;
use std::sync::Arc;

use c5store::{C5Store, ChangeSet, ReloadError};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let _sample_dir;
    if paths.is_empty() {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("app.yaml");
        std::fs::write(
            &file,
            "db:\n  host: localhost\n  port: 5432\nfeatures:\n  - search\n",
        )?;
        println!("no files given; watching a sample: {}", file.display());
        paths.push(file);
        _sample_dir = dir;
    }

    let builder = paths.iter().fold(C5Store::builder(), |b, p| b.path(p));
    let store = builder.live().start()?;
    println!(
        "version {} loaded from {} source(s), watching with {:?}; edit away (Ctrl-C to stop)",
        store.version(),
        paths.len(),
        store.watch_backend()
    );

    let _changes = store.subscribe("", |cs: &ChangeSet| {
        println!("v{} -> v{}:", cs.old_version(), cs.new_version());
        for change in cs.changes() {
            println!("  {change:?}");
        }
    })?;
    let _errors = store.on_error(|e: &Arc<ReloadError>| {
        println!("rejected (still serving v{}):\n  {e}", e.kept_version());
    });

    loop {
        std::thread::park();
    }
}
