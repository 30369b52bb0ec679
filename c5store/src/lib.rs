//! c5store: layered, typed configuration with per-leaf provenance.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let snap = c5store::C5Store::builder()
//!     .dir("config")              // default.yaml, then <profile>.yaml, then local.yaml
//!     .profile_from_env("APP_PROFILE")
//!     .optional_dotenv(".env")
//!     .env_prefix("APP")          // APP__DB__PORT=5432 → db.port
//!     .load()?;                   // every problem of the load at once, with file:line:col
//! let port: u16 = snap.get("db.port")?;
//! let host: &str = snap.get("db.host")?;  // borrowed, no allocation
//! println!("{port} {host}\n{}", snap.explain("db.port").unwrap());
//! # Ok(()) }
//! ```
//!
//! # The pipeline
//! ```text
//! Source (file | dir | env | dotenv | memory | figment Provider)   described, not read
//!   Source::load(cx)  → Vec<Layer { tree, origins }>   the only I/O; each node keeps line:col
//!   merge             → Merged { tree, provenance }    pure; see the rules below
//!                       (provenance: a tree parallel to the values, see [`ProvenanceTree`])
//!   Transform::apply  (secret resolution)               pure rewrites of the merged tree
//!   Snapshot          immutable, Arc-shared; validators may still reject it
//! ```
//! [`Pipeline::reload`] runs all of it; startup is `reload(&Snapshot::empty())`.
//!
//! # Precedence
//! Sources apply in the order they are added to the builder; a later source wins. A directory
//! contributes one layer per file ([`sources::DirSource`]): in a profile directory (one holding
//! `default.*`) the order is `default.*` → `<profile>.*` → `local.*`; the profile comes from
//! [`Builder::profile`], else [`Builder::profile_from_env`]. Env variables and `.env` files
//! follow the rules in [`sources::EnvSource`].
//!
//! # Merge rules
//! Maps deep-merge; scalars and sequences are replaced by the later layer; a source may opt in
//! to appending sequences; an explicit `null` deletes the key. Details and the laws (checked by
//! property tests) are in [`mod@merge`].
//!
//! # Reading
//! [`Snapshot::get`] takes dot paths with `[i]` indexes (`servers[1].port`, also `hosts.0`),
//! deserializes any serde type, and for scalars neither locks nor allocates. Errors name the
//! key and where the value came from: `db.port: invalid type: string "x", expected u16 (at
//! config/default.yaml:3:9 (yaml))`. [`Snapshot::explain`] shows the winning origin and every
//! lower layer it overrode.
//!
//! # API for other modules (secrets, live reload)
//! - Secrets: add a `Value` variant in `value.rs` (the `match`es to update are marked
//!   `// leaf-kinds:`) and implement [`Transform`] over [`Merged`] (tree + provenance, to name
//!   the key path and origin of a bad ciphertext); register it with [`Builder::transform`] or an
//!   `impl Builder` block in the secret module.
//! - Live reload: keep a [`Pipeline`] (from [`Builder::build`]) and call
//!   [`Pipeline::reload`]`(&current)`; watch [`Pipeline::watch_paths`]. Snapshots are
//!   immutable and compare by value through [`Snapshot::root`] / [`Snapshot::keys_with_prefix`].
//! - New sources: implement [`Source`] (one method) and add it with [`Builder::source`].

mod builder;
mod de;
pub mod emit;
pub mod error;
mod index;
mod interop;
pub mod merge;
pub mod origin;
mod parse;
mod pipeline;
pub mod prov_tree;
pub mod secret;
mod snapshot;
mod source;
pub mod sources;
pub mod store;
pub mod subscribe;
pub mod value;
pub mod watch;

pub use builder::{Builder, C5Store};
pub use error::{GetError, LoadError, LoadErrors};
pub use merge::{Layer, MergeMode, Merged, merge};
pub use origin::{Origin, Overridden, Provenance};
pub use parse::{Format, parse};
pub use pipeline::{Pipeline, Transform, Validator};
pub use prov_tree::ProvenanceTree;
pub use snapshot::{Branch, Explanation, Snapshot};
pub use source::{LoadContext, Source};
pub use store::{Invalid, ReloadError, Reloaded, StartError, Store, StoreBuilder};
pub use subscribe::{Change, ChangeSet, Subscription};
pub use value::{Key, Map, Str, Value};
