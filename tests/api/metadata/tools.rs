//! The real tools on the generated code, installed by the suite (pinned in
//! tests/clients/node/package-lock.json and tests/clients/python/requirements.txt, through the
//! same installers as the client conformance tests):
//!
//! - `@servicestack/cli`'s `typescript-ref` adds the reference and, after an option line is
//!   edited, updates it; `tsc --strict --noEmit` accepts it; a typed program compiled with it
//!   (tests/clients/node/typed_client.ts) PATCHes and GETs with `@servicestack/client`;
//! - the generated `dtos.py` drives the PyPI `servicestack` client
//!   (tests/clients/python/typed_client.py), which takes the verb from `IPatch`;
//! - the generated `dtos.cs` is compared with tests/golden/dtos.cs (no .NET SDK here).

use super::*;
use crate::clients::{clients_dir, node_deps, python_deps};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const USER: User = GRACE;
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// A server with the tools' user and one session of theirs; the app, the user id and the
/// session as served before any change.
async fn app_with_session(id: &str) -> (TestApp, String, Value) {
    let app = TestApp::spawn().await;
    let user_id = add_user(app.pool(), &USER).await;
    import(app.pool(), &[full_session(id, USER.account)]).await;
    let res = app.get_session(id).signed_in_as(&USER).await;
    assert_eq!(res.status, 200, "{}", res.text);
    (app, user_id, res.json())
}

/// A fresh working directory under the cargo target dir.
fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a tool to completion; its stdout, or the test fails showing both streams.
async fn run(what: &str, cmd: &mut tokio::process::Command) -> String {
    cmd.kill_on_drop(true);
    let output = tokio::time::timeout(TOOL_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish in {TOOL_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("could not start {what}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}

fn node(dir: &Path, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("node");
    cmd.current_dir(dir)
        .args(args)
        // @servicestack/cli reports each use to servicestack.net unless told not to.
        .env("SERVICESTACK_TELEMETRY_OPTOUT", "1");
    cmd
}

/// The session as it must be after the tools' patch: the served session with the patched
/// members, modified by the user at the time the answer says.
fn patched(before: &Value, user_id: &str, console_data: &str, answer: &Value) -> Value {
    let mut expected = before.clone();
    expected["callState"] = json!("Hold");
    expected["holdReason"] = json!("Transferring");
    expected["queueState"] = json!("Queued");
    expected["consoleData"] = json!(console_data);
    expected["lastModifiedBy"] = json!(user_id);
    let modified = answer["dateLastModified"].as_str().unwrap_or_default();
    assert_ne!(
        Some(modified),
        before["dateLastModified"].as_str(),
        "the patch is dated"
    );
    assert!(
        modified.len() == 24 && modified.ends_with('Z'),
        "dateLastModified is ISO 8601 with milliseconds: {modified}"
    );
    expected["dateLastModified"] = json!(modified);
    expected
}

/// `null` members removed, as the server's JSON leaves them out.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        v => v,
    }
}

#[tokio::test]
async fn typescript_ref_adds_and_updates_dtos_that_tsc_strict_and_the_node_client_accept() {
    let modules = node_deps().join("node_modules");
    let session_id = "64a1f0c2b3d4e5f6a7b8c9e1";
    let (app, user_id, before) = app_with_session(session_id).await;
    let dir = work_dir("typescript-ref");
    std::os::unix::fs::symlink(&modules, dir.join("node_modules")).unwrap();
    let cli = modules.join("@servicestack/cli/bin/typescript-ref.js");
    let cli = cli.to_str().unwrap();
    let tsc = modules.join("typescript/bin/tsc");
    let tsc = tsc.to_str().unwrap();

    // Add the reference: dtos.ts is exactly what /types/typescript answers.
    let said = run("typescript-ref URL", &mut node(&dir, &[cli, &app.base_url])).await;
    assert!(said.contains("Saved to: dtos.ts"), "{said}");
    let added = std::fs::read_to_string(dir.join("dtos.ts")).unwrap();
    let served = app.get("/types/typescript").await;
    assert_eq!(added, served.text);
    run(
        "tsc --strict --noEmit dtos.ts",
        &mut node(&dir, &[tsc, "--strict", "--noEmit", "dtos.ts"]),
    )
    .await;

    // Edit an option line and update: the file is what the server answers for that option.
    let include = "PatchSession.*,GetSession.*";
    let edited = added.replace("//IncludeTypes: \n", &format!("IncludeTypes: {include}\n"));
    assert_ne!(edited, added, "the header has the IncludeTypes line");
    std::fs::write(dir.join("dtos.ts"), &edited).unwrap();
    let said = run("typescript-ref dtos.ts", &mut node(&dir, &[cli, "dtos.ts"])).await;
    assert!(said.contains("Updated: dtos.ts"), "{said}");
    let updated = std::fs::read_to_string(dir.join("dtos.ts")).unwrap();
    let served = app
        .get(&format!("/types/typescript?IncludeTypes={include}"))
        .await;
    assert_eq!(updated, served.text);
    assert!(updated.contains(&format!("\nIncludeTypes: {include}\n")));
    assert!(
        !updated.contains("class Authenticate"),
        "only the included types"
    );

    // Compile the typed program with the updated DTOs, strictly, and run it.
    std::fs::copy(
        clients_dir().join("node/typed_client.ts"),
        dir.join("typed_client.ts"),
    )
    .unwrap();
    std::fs::write(dir.join("package.json"), r#"{"type":"commonjs"}"#).unwrap();
    run(
        "tsc --strict dtos.ts",
        &mut node(&dir, &[tsc, "--strict", "--noEmit", "dtos.ts"]),
    )
    .await;
    let compile = [
        tsc,
        "--strict",
        "--skipLibCheck",
        "--target",
        "es2020",
        "--lib",
        "es2020,dom",
        "--module",
        "commonjs",
        "--moduleResolution",
        "node",
        "--outDir",
        "out",
        "dtos.ts",
        "typed_client.ts",
    ];
    run("tsc typed_client.ts", &mut node(&dir, &compile)).await;
    let printed = run(
        "node typed_client.js",
        &mut node(
            &dir,
            &[
                "out/typed_client.js",
                &app.base_url,
                USER.email,
                USER.password,
                session_id,
            ],
        ),
    )
    .await;
    let answers: Value = serde_json::from_str(printed.trim()).unwrap();
    let expected = patched(&before, &user_id, "typed from dtos.ts", &answers["patched"]);
    assert_eq!(answers["patched"], expected, "the PATCH answer, whole");
    assert_eq!(answers["got"], expected, "the GET answer, whole");
}

#[tokio::test]
async fn the_generated_dtos_py_drives_the_python_client_which_patches_by_ipatch() {
    let python = python_deps().clone();
    let session_id = "64a1f0c2b3d4e5f6a7b8c9e2";
    let (app, user_id, before) = app_with_session(session_id).await;
    let dir = work_dir("python-ref");
    let dtos = app.get("/types/python").await;
    assert_eq!(dtos.status, 200);
    std::fs::write(dir.join("dtos.py"), &dtos.text).unwrap();
    std::fs::copy(
        clients_dir().join("python/typed_client.py"),
        dir.join("typed_client.py"),
    )
    .unwrap();
    let mut cmd = tokio::process::Command::new(python);
    cmd.current_dir(&dir).args([
        "typed_client.py",
        &app.base_url,
        USER.email,
        USER.password,
        session_id,
    ]);
    let printed = run("python typed_client.py", &mut cmd).await;
    let answer = without_nulls(serde_json::from_str(printed.trim()).unwrap());
    let expected = patched(&before, &user_id, "typed from dtos.py", &answer);
    assert_eq!(answer, expected, "the PATCH answer, whole");
    let stored = app.get_session(session_id).signed_in_as(&USER).await;
    assert_eq!(stored.json(), expected, "what the server keeps");
}

#[tokio::test]
async fn the_generated_dtos_cs_is_the_golden_file() {
    let app = TestApp::spawn().await;
    let res = get_page(&app, "/types/csharp", "localhost:5000").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.content_type(), "text/plain; charset=utf-8");
    let normalised: String = res
        .text
        .lines()
        .map(|l| {
            if l.starts_with("Date: ") {
                "Date: (normalised)"
            } else {
                l
            }
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/dtos.cs");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &normalised).unwrap();
    }
    assert_eq!(normalised, std::fs::read_to_string(&golden).unwrap());
}
