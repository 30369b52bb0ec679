//! `c5 render`, `c5 get`, `c5 explain` and `c5 demo`: the config-reading commands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use c5store::{Builder, C5Store, Snapshot, emit};

/// Where configuration comes from, shared by every config-reading command.
#[derive(clap::Args, Debug, Clone)]
pub struct SourceArgs {
    /// Active profile: in a directory holding `default.*`, load `default.*`, then `<PROFILE>.*`,
    /// then `local.*`. Defaults to `$C5_PROFILE`.
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Also read environment variables `<PREFIX>__A__B` (→ `a.b`), after all sources.
    #[arg(long, value_name = "PREFIX")]
    pub env_prefix: Option<String>,
    /// Files (.yaml/.yml/.toml/.json, or .env), or directories, in precedence order (later wins).
    #[arg(value_name = "SOURCE", required = true)]
    pub sources: Vec<PathBuf>,
    #[command(flatten)]
    pub keys: crate::keys::KeyArgs,
}

impl SourceArgs {
    /// The builder for these sources (other commands may add transforms, e.g. decryption).
    pub fn builder(&self) -> Builder {
        let mut b = C5Store::builder().profile_from_env("C5_PROFILE");
        if let Some(p) = &self.profile {
            b = b.profile(p);
        }
        // the prefix must be known to `.env` sources even though env vars load last
        let dotenv_prefix = self.env_prefix.clone();
        for s in &self.sources {
            b = if is_dotenv(s) {
                let mut d = c5store::sources::DotenvSource::new(s);
                if let Some(p) = &dotenv_prefix {
                    d = d.prefix(p);
                }
                b.source(d)
            } else {
                b.path(s)
            };
        }
        if let Some(p) = &self.env_prefix {
            b = b.env_prefix(p);
        }
        b
    }

    /// Loads the snapshot; all problems in one error.
    pub fn load(&self) -> anyhow::Result<Snapshot> {
        Ok(self.builder().secrets(self.keys.keyring()?).load()?)
    }
}

fn is_dotenv(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == ".env" || n.ends_with(".env"))
        && !p.is_dir()
}

/// Output format of `c5 render`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Block YAML.
    Yaml,
    /// Pretty JSON.
    Json,
    /// TOML.
    Toml,
}

/// `c5 render`.
#[derive(clap::Args, Debug)]
pub struct RenderArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Yaml)]
    pub format: OutputFormat,
    /// Append `# from file:line:col` to every leaf (YAML only).
    #[arg(long)]
    pub provenance: bool,
    /// Show decrypted secrets instead of `<redacted>`.
    #[arg(long)]
    pub reveal: bool,
    #[command(flatten)]
    pub src: SourceArgs,
}

/// `c5 get`.
#[derive(clap::Args, Debug)]
pub struct GetArgs {
    /// Dot path: `db.port`, `hosts[0]`, `servers[1].name`.
    pub key: String,
    /// Show a decrypted secret instead of `<redacted>`.
    #[arg(long)]
    pub reveal: bool,
    #[command(flatten)]
    pub src: SourceArgs,
}

/// `c5 explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// Dot path: `db.port`, `hosts[0]`, `servers[1].name`.
    pub key: String,
    #[command(flatten)]
    pub src: SourceArgs,
}

/// `c5 demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Profile of the example (`production` or `staging`).
    #[arg(long, default_value = "production")]
    pub profile: String,
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .context("writing to stdout")?;
    if !text.ends_with('\n') {
        out.write_all(b"\n").context("writing to stdout")?;
    }
    Ok(())
}

fn render_snapshot(
    snap: &Snapshot,
    format: OutputFormat,
    provenance: bool,
) -> anyhow::Result<String> {
    Ok(match (format, provenance) {
        (OutputFormat::Yaml, true) => emit::to_yaml_annotated(snap.root(), snap.provenance_tree()),
        (OutputFormat::Yaml, false) => emit::to_yaml(snap.root()),
        (OutputFormat::Json, false) => emit::to_json(snap.root()),
        (OutputFormat::Toml, false) => {
            emit::to_toml(snap.root()).map_err(|e| anyhow::anyhow!("cannot render as TOML: {e}"))?
        }
        (_, true) => bail!("--provenance works with --format yaml only"),
    })
}

/// `c5 render`.
pub fn render(a: &RenderArgs) -> anyhow::Result<ExitCode> {
    let mut snap = a.src.load()?;
    if a.reveal {
        snap = crate::keys::reveal(&snap);
    }
    print(&render_snapshot(&snap, a.format, a.provenance)?)?;
    Ok(ExitCode::SUCCESS)
}

/// `c5 get`: scalars print bare (strings without quotes), maps and lists as JSON.
pub fn get(a: &GetArgs) -> anyhow::Result<ExitCode> {
    let snap = a.src.load()?;
    let Some(v) = snap.value(&a.key) else {
        eprintln!("c5: key `{}` not found", a.key);
        return Ok(ExitCode::from(1));
    };
    let v = &if a.reveal {
        crate::keys::reveal_value(v)
    } else {
        v.clone()
    };
    let text = match v {
        c5store::Value::String(s) => s.to_string(),
        v if v.is_leaf() => v.to_string(),
        v => serde_json::to_string(&v.to_json()).context("rendering JSON")?,
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `c5 explain`.
pub fn explain(a: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let snap = a.src.load()?;
    let Some(e) = snap.explain(&a.key) else {
        eprintln!("c5: key `{}` not found", a.key);
        return Ok(ExitCode::from(1));
    };
    print(&e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// The bundled example, read from the source tree when it is there, else from the copy
/// compiled into the binary (so `c5 demo` works from any directory).
struct Example;

impl Example {
    const DIR: &'static str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    const FILES: [(&'static str, &'static str); 5] = [
        (
            "config/default.yaml",
            include_str!("../../examples/config/default.yaml"),
        ),
        (
            "config/production.toml",
            include_str!("../../examples/config/production.toml"),
        ),
        (
            "config/staging.toml",
            include_str!("../../examples/config/staging.toml"),
        ),
        (
            "config/local.json",
            include_str!("../../examples/config/local.json"),
        ),
        ("demo.env", include_str!("../../examples/demo.env")),
    ];

    /// The example directory on disk, or a fresh copy of the embedded one.
    fn dir() -> anyhow::Result<(PathBuf, Option<TempDir>)> {
        let on_disk = PathBuf::from(Self::DIR);
        if on_disk.join("config/default.yaml").is_file() {
            // show `examples/...` rather than `/abs/provisioner/../examples/...` where possible
            let abs = std::fs::canonicalize(&on_disk).unwrap_or(on_disk);
            let rel = std::env::current_dir()
                .ok()
                .and_then(|cwd| abs.strip_prefix(cwd).ok().map(Path::to_path_buf))
                .unwrap_or_else(|| abs.clone());
            return Ok((rel, None));
        }
        let tmp = TempDir::new()?;
        for (name, text) in Self::FILES {
            let p = tmp.0.join(name);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
        }
        Ok((tmp.0.clone(), Some(tmp)))
    }
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<Self> {
        let p = std::env::temp_dir().join(format!("c5-demo-{}", std::process::id()));
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `c5 demo`: built-in defaults, the example profile directory, a `.env` file and one env var.
pub fn demo(a: &DemoArgs) -> anyhow::Result<ExitCode> {
    let (dir, _guard) = Example::dir()?;
    let defaults = serde_json::json!({
        "service": {"name": "app", "logLevel": "info"},
        "cache": {"enabled": false}
    });
    let snap = C5Store::builder()
        .memory("built-in defaults", c5store::Value::from(defaults))
        .dir(dir.join("config"))
        .profile(&a.profile)
        .source(c5store::sources::DotenvSource::new(dir.join("demo.env")).prefix("APP"))
        .env_vars("APP", [("APP__SERVICE__LOG_LEVEL", "debug")])
        .load()?;
    let mut out = format!(
        "# c5 demo: profile `{}`; layers, later wins: built-in defaults < {}/config/default.yaml\n\
         # < {}.toml < local.json < demo.env < APP__SERVICE__LOG_LEVEL=debug\n",
        a.profile,
        dir.display(),
        a.profile
    );
    out.push_str(&emit::to_yaml_annotated(
        snap.root(),
        snap.provenance_tree(),
    ));
    for key in ["db.pool.max", "db.replicas[0]"] {
        if let Some(e) = snap.explain(key) {
            out.push_str("\n# c5 explain ");
            out.push_str(key);
            out.push('\n');
            out.push_str(&e.to_string());
        }
    }
    print(&out)?;
    Ok(ExitCode::SUCCESS)
}
