//! Conformance with the real ServiceStack clients.
//!
//! - The npm `@servicestack/client` and the PyPI `servicestack` JsonServiceClients run as
//!   subprocesses (tests/clients/node/conformance.mjs, tests/clients/python/conformance.py)
//!   against a live server: PATCH and GET through `/api/{Op}` and `/json/reply/{Op}`, whole
//!   responses compared, and the errors they raise. Their dependencies are installed once, from
//!   the pinned lock files, on the first run (node_modules beside the script; a venv under the
//!   cargo target dir).
//! - Authentication with the same clients (tests/clients/node/auth.mjs,
//!   tests/clients/python/auth.py): the Node client logs in with `Authenticate` and then works
//!   with the session cookies it keeps itself, logs out and is refused; the Python client uses
//!   an API key from `voice-api apikey add` as its bearer token until the key is revoked.
//! - ListSessions with the same clients and the server's generated DTOs (lists.rs,
//!   tests/clients/node/lists.mjs, tests/clients/python/lists.py): paging, filters, sorting,
//!   the account rules and the Evo Voice CLI's `/sessions` calls, whole pages compared.
//! - What the .NET clients put on the wire, sent with reqwest: JsonServiceClient's PATCH of the
//!   whole DTO on the custom route, XmlServiceClient's DataContract XML PATCH, and a POST with
//!   `X-Http-Method-Override: PATCH`.
//!
//! A missing `node`, `npm` or `python3` fails the test: a client that was not run has not been
//! shown to work.

mod dotnet;
mod lists;

use crate::helpers::binary::{BIN, voice_api};
use crate::helpers::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The clients' user: a `User` with an ASCII password (the scripts pass it on argv and the
/// Node client base64-encodes it with `btoa`), whose sessions are in its account.
const USER: User = GRACE;
const EMAIL: &str = USER.email;
const PASSWORD: &str = USER.password;

/// How long a client script may take before the test gives up on it.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------

/// [`full_session`] in the clients' user's account.
fn session(id: &str) -> Value {
    full_session(id, USER.account)
}

/// A server with one user and `sessions` imported; returns the app and the user's id.
async fn seeded_app(sessions: &[Value]) -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let user_id = add_user(app.pool(), &USER).await;
    import(app.pool(), sessions).await;
    (app, user_id)
}

fn not_found_status(id: &str) -> Value {
    json!({"errorCode": "NotFound", "message": format!("Session '{id}' does not exist"), "errors": []})
}

fn unauthorized_status() -> Value {
    json!({"errorCode": "Unauthorized", "message": "Invalid Username or Password", "errors": []})
}

// ---------------------------------------------------------------------------------------------
// Installing and running the client scripts
// ---------------------------------------------------------------------------------------------

pub(crate) fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Runs a setup command to completion, failing the test with its output if it fails.
fn run_setup(cmd: &mut Command, what: &str) {
    let output = cmd.output().unwrap_or_else(|e| {
        panic!("{what}: could not start {cmd:?}: {e} (is it installed and on PATH?)")
    });
    assert!(
        output.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Fails with a clear message when a tool the client tests need is not installed.
fn require_tool(program: &str, why: &str) {
    match Command::new(program).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("`{program} --version` failed ({}); {why}", out.status),
        Err(e) => panic!("`{program}` is not available ({e}); {why}"),
    }
}

/// `npm ci` in tests/clients/node unless node_modules already holds every pinned dependency
/// (the client, and the reference tools tests/api/metadata runs).
pub(crate) fn node_deps() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = clients_dir().join("node");
        let why = "the Node.js client conformance test needs Node.js >= 18 and npm \
                   (apt-get install nodejs npm)";
        require_tool("node", why);
        require_tool("npm", why);
        let pinned = |path: &Path| -> Option<String> {
            let text = std::fs::read_to_string(path).ok()?;
            let v: Value = serde_json::from_str(&text).ok()?;
            Some(v["version"].as_str()?.to_string())
        };
        let lock: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("package-lock.json")).unwrap())
                .unwrap();
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).unwrap())
                .unwrap();
        // Every direct dependency installed at the version the lock file pins.
        let installed = manifest["dependencies"]
            .as_object()
            .expect("package.json has dependencies")
            .keys()
            .all(|name| {
                let key = format!("node_modules/{name}");
                let wanted = lock["packages"][&key]["version"].as_str();
                wanted.is_some()
                    && pinned(&dir.join(&key).join("package.json")).as_deref() == wanted
            });
        if !installed {
            run_setup(
                Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund"])
                    .current_dir(&dir),
                "npm ci in tests/clients/node",
            );
        }
        dir
    })
}

/// A venv under the cargo target dir with tests/clients/python/requirements.txt installed;
/// reinstalled when the requirements change. Returns the venv's python.
pub(crate) fn python_deps() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| python_venv("python/requirements.txt", "client-venv"))
}

/// A venv `name` under the cargo target dir with `requirements` (relative to tests/clients)
/// installed; reinstalled when the requirements change. Returns the venv's python. Callers
/// keep the result in a `OnceLock`, so one test process installs each venv once.
pub fn python_venv(requirements: &str, name: &str) -> PathBuf {
    require_tool(
        "python3",
        "the Python client and OpenAPI tests need Python >= 3.11 with venv \
         (apt-get install python3 python3-venv)",
    );
    let requirements = clients_dir().join(requirements);
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin/python");
    let stamp = venv.join("installed-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        let _ = std::fs::remove_dir_all(&venv);
        run_setup(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv (is python3-venv installed?)",
        );
        run_setup(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-input",
                    "-r",
                ])
                .arg(&requirements),
            "pip install -r (the requirements in tests/clients)",
        );
        std::fs::write(&stamp, &wanted).unwrap();
    }
    python
}

/// The document the client scripts compare against.
fn expected_document(session: &Value, user_id: &str) -> Value {
    json!({
        "session": session,
        "userId": user_id,
        "unknownSessionId": UNKNOWN_SESSION,
        "notFound": not_found_status(UNKNOWN_SESSION),
        "unauthorized": unauthorized_status(),
    })
}

/// Runs a client script against the app and asserts it exits 0, showing its output if not.
pub(crate) async fn run_client(name: &str, mut cmd: tokio::process::Command, expected: &Value) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec_pretty(expected).unwrap()).unwrap();
    cmd.arg(file.path()).kill_on_drop(true);
    let started = Instant::now();
    let output = tokio::time::timeout(CLIENT_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("the {name} client did not finish in {CLIENT_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("could not start the {name} client: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the {name} client found mismatches ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains(" passed, 0 failed"),
        "the {name} client printed no summary:\n{stdout}\n{stderr}"
    );
    eprintln!("{stdout}{name} client ran in {:?}", started.elapsed());
}

#[tokio::test]
async fn node_json_service_client_patches_and_gets_whole_sessions() {
    let dir = node_deps().clone();
    let session_id = "64a1f0c2b3d4e5f6a7b8c9d0";
    let session = session(session_id);
    let (app, user_id) = seeded_app(std::slice::from_ref(&session)).await;

    let mut cmd = tokio::process::Command::new("node");
    cmd.current_dir(&dir)
        .arg("conformance.mjs")
        .args([&app.base_url, EMAIL, PASSWORD, session_id]);
    run_client("Node.js", cmd, &expected_document(&session, &user_id)).await;
}

#[tokio::test]
async fn python_json_service_client_patches_and_gets_whole_sessions() {
    let python = python_deps().clone();
    let session_id = "64a1f0c2b3d4e5f6a7b8c9d1";
    let session = session(session_id);
    let (app, user_id) = seeded_app(std::slice::from_ref(&session)).await;

    let mut cmd = tokio::process::Command::new(python);
    cmd.current_dir(clients_dir().join("python"))
        .arg("conformance.py")
        .args([&app.base_url, EMAIL, PASSWORD, session_id]);
    run_client("Python", cmd, &expected_document(&session, &user_id)).await;
}

// ---------------------------------------------------------------------------------------------
// Authentication with the real clients
// ---------------------------------------------------------------------------------------------

/// The session as the server answers it (read with Basic credentials), for the scripts to
/// compare against.
async fn session_as_served(app: &TestApp, id: &str) -> Value {
    let res = app.get_session(id).signed_in_as(&USER).await;
    assert_eq!(res.status, 200);
    res.json()
}

/// Node: `post(new Authenticate({provider:'credentials', ..., rememberMe:true}))`, then PATCH
/// and GET with the session cookies the client keeps itself (see tests/clients/node/auth.mjs),
/// then logout, after which the client and the replayed old cookies are refused.
#[tokio::test]
async fn node_client_logs_in_works_with_the_session_cookies_and_is_refused_after_logout() {
    let dir = node_deps().clone();
    let session_id = "64a1f0c2b3d4e5f6a7b8c9d2";
    let (app, user_id) = seeded_app(&[session(session_id)]).await;
    let expected = json!({
        "baseUrl": app.base_url,
        "userName": EMAIL,
        "password": PASSWORD,
        "sessionId": session_id,
        "authenticateResponse": {
            "userId": user_id,
            "userName": EMAIL,
            "displayName": EMAIL,
            "roles": ["User"],
            "permissions": [],
        },
        "session": session_as_served(&app, session_id).await,
        "userId": user_id,
        "notAuthenticated": {"errorCode": "Unauthorized", "message": "Not Authenticated", "errors": []},
    });
    let mut cmd = tokio::process::Command::new("node");
    cmd.current_dir(&dir).arg("auth.mjs");
    run_client("Node.js auth", cmd, &expected).await;

    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_sessions")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(left, 0, "the logout ended the login session");
}

/// Python: an API key made with `voice-api apikey add` as `client.bearer_token`, PATCH and GET,
/// then `voice-api apikey revoke` (run by the script) and the next requests are 401.
#[tokio::test]
async fn python_client_uses_an_api_key_as_bearer_token_until_it_is_revoked() {
    let python = python_deps().clone();
    let session_id = "64a1f0c2b3d4e5f6a7b8c9d3";
    let (app, user_id) = seeded_app(&[session(session_id)]).await;
    let bin = BIN;
    let cli = |args: &[&str]| voice_api(app.database_url(), args, None).ok();
    let added = cli(&["apikey", "add", "--email", EMAIL, "--name", "python client"]);
    let key = added.lines().last().unwrap().trim().to_string();
    let listed = cli(&["apikey", "list"]);
    let key_id = listed
        .lines()
        .find(|l| l.contains("python client"))
        .and_then(|l| l.split('\t').next())
        .unwrap_or_else(|| panic!("the key is listed: {listed}"))
        .to_string();
    let expected = json!({
        "baseUrl": app.base_url,
        "apiKey": key,
        "sessionId": session_id,
        "session": session_as_served(&app, session_id).await,
        "userId": user_id,
        "revoke": {"argv": [bin, "apikey", "revoke", key_id], "env": {"DATABASE_URL": app.database_url()}},
        "invalidApiKey": {"errorCode": "Unauthorized", "message": "Invalid API Key", "errors": []},
    });
    let mut cmd = tokio::process::Command::new(python);
    cmd.current_dir(clients_dir().join("python")).arg("auth.py");
    run_client("Python auth", cmd, &expected).await;
}
