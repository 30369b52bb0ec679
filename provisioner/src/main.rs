//! The `c5` command: render, get and explain configuration; keys, encryption and publishing.
//!
//! Exit codes: 0 success, 1 key absent (`get`, `explain`), 2 configuration or usage error (the
//! message goes to stderr).

mod crypt;
mod edit;
mod keys;
mod render;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// c5: provision and inspect layered configuration.
#[derive(Parser, Debug)]
#[command(name = "c5", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the merged configuration of SOURCE... (files, directories, .env files; later wins).
    Render(render::RenderArgs),
    /// Print the value at KEY (JSON for maps and lists); exit 1 when absent.
    Get(render::GetArgs),
    /// Print where the value at KEY came from and what it overrode; exit 1 when absent.
    Explain(render::ExplainArgs),
    /// Render the bundled example configuration with the origin of every leaf.
    Demo(render::DemoArgs),
    /// Create an age identity (mode 0600) and print its public recipient.
    Keygen(keys::KeygenArgs),
    /// Encrypt values of a YAML/TOML/JSON file in place, keeping its layout.
    Encrypt(crypt::EncryptArgs),
    /// Print a file with its values decrypted (stdout unless -o), or single values.
    Decrypt(crypt::DecryptArgs),
    /// Re-encrypt every encrypted value of FILE... to new recipients.
    Rekey(crypt::RekeyArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Render(a) => render::render(&a),
        Command::Get(a) => render::get(&a),
        Command::Explain(a) => render::explain(&a),
        Command::Demo(a) => render::demo(&a),
        Command::Keygen(a) => keys::keygen(&a).map(|()| ExitCode::SUCCESS),
        Command::Encrypt(a) => crypt::encrypt(&a).map(|_| ExitCode::SUCCESS),
        Command::Decrypt(a) => crypt::decrypt(&a).map(|()| ExitCode::SUCCESS),
        Command::Rekey(a) => crypt::rekey(&a).map(|_| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("c5: {e:#}");
            ExitCode::from(2)
        }
    }
}
