//! c5-testkit: start real servers (etcd, NATS, SMTP) on loopback for tests, wait on conditions with
//! deadlines, and stop every process by its PID when the guard drops.
//!
//! Every starter fails loudly (panics with the reason) when the server binary is missing or does not
//! become ready in time: a test that needs a server never passes without one.
#![allow(clippy::disallowed_methods)] // a test harness measures deadlines with the real clock
#![allow(clippy::unwrap_used)] // a harness failure is a test failure

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Polls `cond` every few milliseconds until it returns true; panics naming `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        if cond() {
            return;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Like [`wait_until`] but returns the first `Some` value produced by `probe`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let mut out = None;
    wait_until(timeout, what, || {
        out = probe();
        out.is_some()
    });
    out.unwrap()
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for a server started right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .unwrap()
        .port()
}

/// Panics with an install hint when `bin` is not on PATH.
pub fn require_binary(bin: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(bin);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("`{bin}` is not installed: run ./scripts/test, which installs the test servers");
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

/// A server process started for one test; killed by PID (never by name) when dropped.
pub struct Server {
    child: Option<Child>,
    /// A human name for messages.
    pub name: String,
    /// The main port the server listens on.
    pub port: u16,
    /// A second port (peer, monitoring) where the server has one.
    pub port2: u16,
    /// Scratch directory owned by this server (data dir, maildir parent).
    pub dir: tempfile::TempDir,
}

impl Server {
    /// Starts `cmd` (stdout/stderr to files in `dir`) and waits until `ready` holds.
    pub fn start(
        name: &str,
        mut cmd: Command,
        dir: tempfile::TempDir,
        port: u16,
        port2: u16,
        ready: impl FnMut() -> bool,
    ) -> Server {
        let out = std::fs::File::create(dir.path().join("stdout.log")).unwrap();
        let err = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let mut server = Server {
            child: Some(child),
            name: name.into(),
            port,
            port2,
            dir,
        };
        let mut ready = ready;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if ready() {
                return server;
            }
            if let Some(status) = server.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("{name} exited early with {status}: {}", server.log());
            }
            if Instant::now() >= deadline {
                panic!("{name} not ready within 20s: {}", server.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The PID of the server process.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// The server's stderr and stdout so far (for failure messages).
    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        format!(
            "stderr:\n{}\nstdout:\n{}",
            read("stderr.log"),
            read("stdout.log")
        )
    }

    /// Stops the server now (SIGKILL by PID) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An SMTP server (Python aiosmtpd) writing every received message into a Maildir.
pub struct Smtp {
    /// The running server.
    pub server: Server,
    maildir: PathBuf,
}

impl Smtp {
    /// Starts `python3 -m aiosmtpd` on a free loopback port with a Maildir handler.
    pub fn start() -> Smtp {
        Smtp::start_on(free_port())
    }

    /// Starts the server on a given loopback port (e.g. one a client was already failing to reach).
    pub fn start_on(port: u16) -> Smtp {
        require_binary("python3");
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir"); // must not exist yet: aiosmtpd creates it
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir);
        let server = Server::start("aiosmtpd", cmd, dir, port, 0, || port_open(port));
        Smtp { server, maildir }
    }

    /// The raw text of every message received so far, oldest first.
    pub fn messages(&self) -> Vec<String> {
        read_maildir(&self.maildir)
    }
}

/// A test certificate authority and a leaf certificate for `localhost` / `127.0.0.1` signed by it
/// (clients such as lettre reject a self-signed certificate used as an end entity).
pub struct TestCerts {
    /// The CA certificate (PEM): what a client trusts.
    pub ca_pem: String,
    /// The leaf certificate (PEM) the server presents.
    pub leaf_pem: String,
    /// The leaf's private key (PEM).
    pub leaf_key_pem: String,
}

impl TestCerts {
    /// Generates a fresh CA and leaf with rcgen.
    pub fn generate() -> TestCerts {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "c5 test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
        TestCerts {
            ca_pem: ca_cert.pem(),
            leaf_pem: leaf.pem(),
            leaf_key_pem: leaf_key.serialize_pem(),
        }
    }
}

/// How [`SmtpTls`] protects the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTlsMode {
    /// STARTTLS required before AUTH and MAIL.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Implicit,
}

/// An aiosmtpd server that requires TLS (STARTTLS or implicit) and AUTH (PLAIN or LOGIN) with a
/// fixed user, writing messages to a Maildir. Each stored message carries `X-C5-Test-TLS: yes|no`
/// and `X-C5-Test-Auth: <login>` added by the server.
pub struct SmtpTls {
    /// The running server.
    pub server: Server,
    /// Certificates: clients must trust `certs.ca_pem`.
    pub certs: TestCerts,
    /// The accepted user name.
    pub user: String,
    /// The accepted password.
    pub password: String,
    maildir: PathBuf,
}

impl SmtpTls {
    /// Starts the server on a free loopback port (certificate valid for `localhost`).
    pub fn start(mode: SmtpTlsMode) -> SmtpTls {
        require_binary("python3");
        let dir = tempfile::tempdir().unwrap();
        let certs = TestCerts::generate();
        let (cert, key, script) = (
            dir.path().join("leaf.pem"),
            dir.path().join("leaf.key"),
            dir.path().join("smtp_tls.py"),
        );
        std::fs::write(&cert, &certs.leaf_pem).unwrap();
        std::fs::write(&key, &certs.leaf_key_pem).unwrap();
        std::fs::write(&script, include_str!("smtp_tls.py")).unwrap();
        let maildir = dir.path().join("maildir");
        let port = free_port();
        let (user, password) = ("c5-user".to_owned(), "c5-test-password".to_owned());
        let mut cmd = Command::new("python3");
        cmd.arg(&script)
            .arg(port.to_string())
            .arg(&maildir)
            .arg(&cert)
            .arg(&key)
            .arg(match mode {
                SmtpTlsMode::StartTls => "starttls",
                SmtpTlsMode::Implicit => "implicit",
            })
            .arg(&user)
            .arg(&password);
        let stdout = dir.path().join("stdout.log");
        let server = Server::start("aiosmtpd (tls)", cmd, dir, port, 0, || {
            std::fs::read_to_string(&stdout).is_ok_and(|s| s.contains("ready"))
        });
        SmtpTls {
            server,
            certs,
            user,
            password,
            maildir,
        }
    }

    /// The raw text of every message received so far, oldest first.
    pub fn messages(&self) -> Vec<String> {
        read_maildir(&self.maildir)
    }
}

/// Reads every message file in `maildir/new`, sorted by modification time then name.
pub fn read_maildir(maildir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| {
            let modified = e.metadata().and_then(|m| m.modified()).ok();
            (modified, e.path())
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|(_, p)| std::fs::read_to_string(p).ok())
        .collect()
}

/// Starts a single-node etcd with a fresh data directory on free loopback ports.
pub fn etcd() -> Server {
    let bin = require_binary("etcd");
    let dir = tempfile::tempdir().unwrap();
    let (client, peer) = (free_port(), free_port());
    let mut cmd = Command::new(bin);
    cmd.arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg(format!("--listen-client-urls=http://127.0.0.1:{client}"))
        .arg(format!("--advertise-client-urls=http://127.0.0.1:{client}"))
        .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer}"))
        .arg(format!(
            "--initial-advertise-peer-urls=http://127.0.0.1:{peer}"
        ))
        .arg(format!("--initial-cluster=default=http://127.0.0.1:{peer}"));
    Server::start("etcd", cmd, dir, client, peer, || {
        http_ok(client, "/health")
    })
}

/// Starts nats-server with JetStream on free loopback ports (`port2` is the monitoring port).
pub fn nats() -> Server {
    let bin = require_binary("nats-server");
    let dir = tempfile::tempdir().unwrap();
    let (port, mon) = (free_port(), free_port());
    let mut cmd = Command::new(bin);
    cmd.args([
        "-a",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-m",
        &mon.to_string(),
        "-js",
        "-sd",
    ])
    .arg(dir.path().join("js"));
    Server::start("nats-server", cmd, dir, port, mon, || {
        http_ok(mon, "/healthz")
    })
}

/// A minimal blocking HTTP/1.0 GET against 127.0.0.1 that reports whether the status is 2xx.
pub fn http_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = stream.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.0 2") || buf.starts_with("HTTP/1.1 2")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_server_receives_a_message() {
        use std::io::{BufRead, BufReader, Write};
        let smtp = Smtp::start();
        let stream = TcpStream::connect(("127.0.0.1", smtp.server.port)).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut w = stream;
        let mut line = String::new();
        let mut expect = |code: &str, reader: &mut BufReader<TcpStream>| loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            assert!(line.starts_with(code), "expected {code}, got {line:?}");
            if line.as_bytes().get(3) == Some(&b' ') {
                break;
            }
        };
        expect("220", &mut reader);
        for (cmd, code) in [
            ("EHLO t\r\n", "250"),
            ("MAIL FROM:<a@t>\r\n", "250"),
            ("RCPT TO:<b@t>\r\n", "250"),
            ("DATA\r\n", "354"),
            ("Subject: hi\r\n\r\nbody\r\n.\r\n", "250"),
        ] {
            w.write_all(cmd.as_bytes()).unwrap();
            expect(code, &mut reader);
        }
        wait_until(Duration::from_secs(5), "one message in the maildir", || {
            smtp.messages().len() == 1
        });
        assert!(smtp.messages()[0].contains("Subject: hi"));
    }

    #[test]
    fn etcd_and_nats_start_and_stop() {
        let mut etcd = etcd();
        assert!(http_ok(etcd.port, "/health"));
        let port = etcd.port;
        etcd.stop();
        assert!(!port_open(port), "etcd still listening after stop");
        let nats = nats();
        assert!(port_open(nats.port));
    }
}
