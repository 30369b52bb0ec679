//! The built-in [`crate::Source`]s: files, directories, env vars, `.env` files, memory and
//! figment providers.

mod env;
mod file;
mod memory;
mod provider;

pub use env::{DotenvSource, EnvSource};
pub use file::{DirSource, FileSource};
pub use memory::MemorySource;
pub use provider::ProviderSource;
