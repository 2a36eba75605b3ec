//! Standard OpenAPI tools on the served document, installed by the suite itself into a venv
//! under the cargo target dir from tests/clients/openapi/requirements.txt (pinned, with every
//! dependency), the way the Python client tests install theirs:
//!
//! - `openapi-spec-validator` validates the document against the OpenAPI 3.0 schema and rules.
//! - `schemathesis` generates requests from the document for every operation and runs them
//!   against a live server, authenticated with HTTP Basic as a fixture user. Its checks: no 5xx,
//!   every response conforms to its documented schema, status code, content type and headers,
//!   undeclared verbs are 405 with `Allow`, credentials are enforced (all but two, see below).
//!   The run is bounded (a few examples per operation, one worker) and repeatable (a fixed seed,
//!   no example database); path variables come half the time from the fixtures (the world's
//!   sessions, an unknown and a foreign one; the providers `Authenticate` knows), so the
//!   requests reach stored sessions and logins, not only 404s.

use super::document;
use crate::clients::python_venv;
use crate::helpers::*;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use voice_api::contract::operations::{self, OPERATIONS, OpId};

/// The fixture user schemathesis authenticates as (ASCII, no colon: it goes on argv).
const USER: User = ADA;

/// Examples per operation and phase; with one worker the whole run takes well under a minute.
const MAX_EXAMPLES: &str = "25";
const SEED: &str = "20261201";
const TOOL_TIMEOUT: Duration = Duration::from_secs(110);

/// The venv's `bin` directory, with both tools installed.
fn tools() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let python = python_venv("openapi/requirements.txt", "openapi-venv");
        python.parent().expect("bin/python").to_path_buf()
    })
}

/// Runs a tool to completion within [`TOOL_TIMEOUT`]; returns whether it succeeded and its
/// output (stdout, then stderr).
async fn run_tool(mut cmd: tokio::process::Command) -> (bool, String) {
    cmd.kill_on_drop(true).env("NO_COLOR", "1");
    let output = tokio::time::timeout(TOOL_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{cmd:?} did not finish in {TOOL_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("could not start {cmd:?}: {e}"));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn openapi_spec_validator_accepts_the_document() {
    let bin = tools().clone();
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();

    let mut cmd = tokio::process::Command::new(bin.join("openapi-spec-validator"));
    cmd.arg(&file);
    let (ok, output) = run_tool(cmd).await;
    assert!(ok, "openapi-spec-validator rejected /openapi:\n{output}");
    assert!(output.contains(": OK"), "{output}");
}

/// The `{variable}` of an operation's last route.
fn path_var(id: OpId) -> &'static str {
    let path = operations::operation(id).routes.last().unwrap().path;
    let (_, rest) = path.rsplit_once('{').expect("a path variable");
    rest.trim_end_matches('}')
}

/// Schemathesis's configuration: where path variables take fixture values from.
fn config() -> String {
    let sessions = [SESSION, OTHER_SESSION, FOREIGN_SESSION, UNKNOWN_SESSION];
    let quoted = |values: &[&str]| {
        let items: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
        items.join(", ")
    };
    format!(
        "[dictionaries.sessions]\nvalues = [{sessions}]\n\
         [dictionaries.providers]\nvalues = [{providers}]\n\
         [parameters]\n\
         \"path.{session}\" = {{ dictionary = \"sessions\", probability = 0.6 }}\n\
         \"path.{provider}\" = {{ dictionary = \"providers\", probability = 0.5 }}\n",
        sessions = quoted(&sessions),
        providers = quoted(&["credentials", "basic", "logout", "login"]),
        session = path_var(OpId::PatchSession),
        provider = path_var(OpId::Authenticate),
    )
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_response_outside_the_document() {
    let bin = tools().clone();
    let app = TestApp::spawn().await;
    add_user(app.pool(), &USER).await;
    import_texts(app.pool(), &[full_session_text(SESSION, ACCOUNT)]).await;
    import(
        app.pool(),
        &[
            sparse_session(OTHER_SESSION, ACCOUNT),
            simple_session(FOREIGN_SESSION, OTHER_ACCOUNT),
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("schemathesis.toml");
    std::fs::write(&config_file, config()).unwrap();

    let mut cmd = tokio::process::Command::new(bin.join("schemathesis"));
    cmd.current_dir(dir.path())
        .arg("--config-file")
        .arg(&config_file)
        .arg("run")
        .arg(app.url("/openapi"))
        .args(["--auth", &format!("{}:{}", USER.email, USER.password)])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .args(["--generation-database", "none", "--workers", "1"])
        .args(["--phases", "examples,coverage,fuzzing"])
        // Every check but two that test a stricter server than ServiceStack is: its binder
        // takes enum names in any case and as integers and skips unknown members (so data the
        // schema rejects is accepted), and valid requests for ids nobody stored are 404s.
        .args(["--checks", "all"])
        .args([
            "--exclude-checks",
            "negative_data_rejection,positive_data_acceptance",
        ])
        // Generation slows down when the suite's other tests share the two cores.
        .args(["--suppress-health-check", "too_slow", "--no-color"]);
    let started = Instant::now();
    let (ok, output) = run_tool(cmd).await;
    let took = started.elapsed();
    assert!(ok, "schemathesis found problems (seed {SEED}):\n{output}");
    // "N generated, N passed" (its warnings, e.g. about 404s for unknown providers, are not
    // findings).
    let cases = output
        .lines()
        .find(|l| l.contains(" generated, "))
        .unwrap_or_else(|| panic!("a test case count:\n{output}"));
    // "..., K skipped" may follow (cases a check had nothing to say about).
    let counts: Vec<&str> = cases.split_whitespace().collect();
    assert!(
        matches!(counts[..], [n, "generated,", m, "passed" | "passed,", ..] if n == m && n != "0")
            && !cases.contains("failed"),
        "every generated case passed:\n{output}"
    );
    assert!(!output.contains("Errors:"), "{output}");
    let operations: usize = OPERATIONS
        .iter()
        .flat_map(|op| op.routes)
        .map(|r| r.verbs.len())
        .sum();
    assert!(
        output.contains(&format!("Tested: {operations}\n")),
        "every operation was tested:\n{output}"
    );
    eprintln!("schemathesis ran in {took:?}");
}
