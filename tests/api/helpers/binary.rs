//! The real `voice-api` binary (`CARGO_BIN_EXE_voice-api`): operator commands run to
//! completion ([`voice_api`]), and `serve` as a process ([`ServerProcess`]). Both run in a
//! fresh temporary directory, so no `.env` file can interfere.

use std::io::Write;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_voice-api");

/// What a finished command left behind.
#[derive(Debug, PartialEq)]
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// A failed run: non-zero exit, nothing on stdout, exactly `line` on stderr.
    pub fn failure(line: &str) -> Run {
        Run {
            success: false,
            stdout: String::new(),
            stderr: format!("{line}\n"),
        }
    }

    /// The last line of stdout, where every operator command prints its result.
    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }

    /// Asserts the command succeeded; returns its stdout.
    pub fn ok(self) -> String {
        assert!(self.success, "voice-api failed: {self:?}");
        self.stdout
    }
}

/// Runs `voice-api ARGS` with DATABASE_URL set to `database_url`, optionally feeding `stdin`.
pub fn voice_api(database_url: &str, args: &[&str], stdin: Option<&str>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(BIN)
        .args(args)
        .current_dir(dir.path())
        .env("DATABASE_URL", database_url)
        .env("RUST_BACKTRACE", "1")
        .env_remove("RUST_LOG")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the voice-api binary starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        success: out.status.success(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `voice-api apikey add` for `email`: the key (last stdout line) and its public id (from
/// `apikey list`, found by `label`).
pub fn add_api_key(database_url: &str, email: &str, label: &str) -> (String, String) {
    let out = voice_api(
        database_url,
        &["apikey", "add", "--email", email, "--name", label],
        None,
    )
    .ok();
    let key = out.lines().last().unwrap().trim().to_string();
    assert!(key.len() >= 32, "the key is the last line: {out:?}");
    let list = voice_api(database_url, &["apikey", "list"], None).ok();
    let line = list
        .lines()
        .find(|l| l.split('\t').nth(2) == Some(label))
        .unwrap_or_else(|| panic!("{label} in {list}"));
    let id = line.split('\t').next().unwrap().to_string();
    (key, id)
}

/// How to start `voice-api serve --listen 127.0.0.1:0`.
pub struct ServeCommand {
    cmd: tokio::process::Command,
    dir: tempfile::TempDir,
}

impl ServeCommand {
    /// `serve --demo`.
    pub fn demo(mut self) -> Self {
        self.cmd.arg("--demo");
        self
    }

    /// An environment variable (e.g. `RUST_LOG`, `VOICE_API_DRAIN_TIMEOUT_MS`).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.cmd.env(name, value);
        self
    }

    /// Starts the process and waits (at most 30 s) until it prints `listening on http://ADDR`.
    pub async fn spawn(mut self) -> ServerProcess {
        let mut child = self
            .cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the voice-api binary starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        let streams: [Box<dyn tokio::io::AsyncRead + Unpin + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for stream in streams {
            let lines = lines.clone();
            readers.push(tokio::spawn(async move {
                let mut r = tokio::io::BufReader::new(stream).lines();
                while let Ok(Some(line)) = r.next_line().await {
                    lines.lock().unwrap().push(strip_ansi(&line));
                }
            }));
        }
        let mut server = ServerProcess {
            child,
            base_url: String::new(),
            lines,
            readers,
            _dir: self.dir,
        };
        let line = server.wait_for_line("listening on http://").await;
        let rest = &line[line.find("listening on http://").unwrap() + "listening on ".len()..];
        let url: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || ":/.[]".contains(*c))
            .collect();
        assert!(!url.ends_with(":0"), "port 0 was not resolved: {line}");
        server.base_url = url;
        server
    }
}

/// A running `voice-api serve`, everything it prints (stdout and stderr, ANSI colours
/// stripped) collected. Killed on drop if a test fails before stopping it.
pub struct ServerProcess {
    pub child: tokio::process::Child,
    pub base_url: String,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// `voice-api serve --listen 127.0.0.1:0` on `database_url`, without `RUST_LOG` unless set.
    pub fn command(database_url: &str) -> ServeCommand {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .current_dir(dir.path())
            .env("DATABASE_URL", database_url)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG");
        ServeCommand { cmd, dir }
    }

    /// Everything printed so far, one line each.
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// The first line printed that contains `needle`, waiting for it at most 30 s.
    pub async fn wait_for_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(line) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no line with {needle:?} within 30 s; output so far:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let pid = self.child.id().expect("still running").to_string();
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM {pid}");
    }

    /// Waits (at most `limit`) for the process to exit, and for its output to be collected.
    pub async fn wait(&mut self, limit: Duration) -> ExitStatus {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("voice-api did not exit within {limit:?}"))
            .unwrap();
        for r in self.readers.drain(..) {
            let _ = r.await;
        }
        status
    }

    /// SIGTERM, then the exit (at most 15 s); returns the exit status and all the output.
    pub async fn stop(mut self) -> (ExitStatus, String) {
        self.sigterm();
        let status = self.wait(Duration::from_secs(15)).await;
        (status, self.output())
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
