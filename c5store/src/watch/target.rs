//! What to watch for one source path, and which filesystem events concern it.
//!
//! Watching only the file breaks on the most common edits: an atomic save replaces the inode (the
//! watch stays on the old, deleted one), and a Kubernetes ConfigMap update never touches the file at
//! all — it swaps the `..data` symlink the file points through. So a target is watched through
//! **directories**: the parent of the path (or its nearest existing ancestor while the parent does not
//! exist yet), the path itself when it is a directory source, and the same two for the path's
//! symlink-resolved location when that differs. Watches are recomputed after every burst that
//! created, removed or renamed something, so a directory that is deleted and re-created is picked
//! up again.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

/// One watched source path (a file or a directory, which may not exist yet).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Absolute path as the caller named it (symlinks not resolved).
    path: PathBuf,
    /// Canonical location when it differs from `path` (the path is or goes through a symlink).
    resolved: Option<PathBuf>,
}

impl Target {
    /// A target for `path`, made absolute against the current directory.
    pub(crate) fn new(path: &Path) -> Self {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut target = Self {
            path,
            resolved: None,
        };
        target.refresh();
        target
    }

    /// The path as given (absolute).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Re-resolves symlinks; call before recomputing watches.
    pub(crate) fn refresh(&mut self) {
        self.resolved = fs::canonicalize(&self.path)
            .ok()
            .filter(|r| *r != self.path);
    }

    /// Directories to watch non-recursively for this target right now.
    pub(crate) fn watch_dirs(&self, out: &mut BTreeSet<PathBuf>) {
        for p in std::iter::once(&self.path).chain(self.resolved.as_ref()) {
            if let Some(dir) = p.parent().and_then(nearest_existing_dir) {
                out.insert(dir);
            }
            if p.is_dir() {
                out.insert(p.clone());
            }
        }
    }

    /// True when an event on `p` may change what loading this target reads.
    pub(crate) fn is_relevant(&self, p: &Path) -> bool {
        let concerns = |t: &Path| {
            // the target itself, anything inside a directory target, or an ancestor directory
            // being created, removed or renamed
            p == t || p.starts_with(t) || t.starts_with(p)
        };
        if concerns(&self.path) || self.resolved.as_deref().is_some_and(concerns) {
            return true;
        }
        // Kubernetes AtomicWriter: `..data` and `..<timestamp>` entries next to the target
        p.parent() == self.path.parent()
            && p.file_name()
                .and_then(OsStr::to_str)
                .is_some_and(|n| n.starts_with(".."))
    }

    /// A content fingerprint for the polling backend: the resolved location plus the length and
    /// hash of every file the target covers (directory sources: each direct entry, by name).
    /// `None` when the path does not exist.
    pub(crate) fn fingerprint(&self) -> Option<u64> {
        let meta = fs::metadata(&self.path).ok()?;
        let mut h = DefaultHasher::new();
        self.resolved.hash(&mut h);
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = fs::read_dir(&self.path)
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for entry in entries {
                entry.hash(&mut h);
                hash_file(&entry, &mut h);
            }
        } else {
            hash_file(&self.path, &mut h);
        }
        Some(h.finish())
    }
}

/// `dir` if it is an existing directory, else its nearest existing ancestor.
fn nearest_existing_dir(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|a| a.is_dir()).map(Path::to_path_buf)
}

fn hash_file(path: &Path, h: &mut DefaultHasher) {
    match fs::read(path) {
        Ok(bytes) => bytes.hash(h),
        // a directory entry or an unreadable file: its kind still counts
        Err(e) => e.kind().hash(h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(p: &str) -> Target {
        Target {
            path: PathBuf::from(p),
            resolved: None,
        }
    }

    fn check(t: &Target, event: &str, expect: bool) {
        assert_eq!(
            t.is_relevant(Path::new(event)),
            expect,
            "event {event} for {t:?}"
        );
    }

    #[test]
    fn file_target_relevance() {
        let t = target("/etc/app/app.yaml");
        check(&t, "/etc/app/app.yaml", true);
        check(&t, "/etc/app", true); // parent removed or renamed
        check(&t, "/etc/app/..data", true); // ConfigMap symlink swap
        check(&t, "/etc/app/..2026_11_25_10_00_00.123", true);
        check(&t, "/etc/app/other.yaml", false);
        check(&t, "/etc/app/app.yaml.tmp", false); // the temp half of an atomic save
        check(&t, "/etc/other/app.yaml", false);
    }

    #[test]
    fn dir_target_relevance() {
        let t = target("/etc/app/conf.d");
        check(&t, "/etc/app/conf.d", true);
        check(&t, "/etc/app/conf.d/10-db.yaml", true);
        check(&t, "/etc/app/conf.d.bak", false);
        check(&t, "/etc/app/sibling", false);
    }

    #[test]
    fn resolved_location_is_relevant() {
        let t = Target {
            path: PathBuf::from("/etc/app/app.yaml"),
            resolved: Some(PathBuf::from("/srv/real/app.yaml")),
        };
        check(&t, "/srv/real/app.yaml", true);
        check(&t, "/srv/real/unrelated.yaml", false);
    }
}
