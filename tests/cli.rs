//! The `voice-api` binary's operator commands (`account add`, `user add`, `import`) and its
//! start-up failure, run as a process against a test database.

mod common;

use common::{TestDb, spawn_app};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::io::Write;
use std::process::{Command, Stdio};

const ROLES_LINE: &str = "roles are SystemAdministrator, Manager, Customer, User";

/// What a finished command left behind.
#[derive(Debug, PartialEq)]
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The last line of stdout, where every operator command prints its result.
    fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }
}

/// Runs `voice-api ARGS` with DATABASE_URL set to `database_url`, optionally feeding `stdin`.
/// The working directory is a fresh temporary one, so no `.env` file can interfere.
fn voice_api(database_url: &str, args: &[&str], stdin: Option<&str>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_voice-api"))
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

/// A failed run: non-zero exit, nothing on stdout, exactly `line` on stderr.
fn failure(line: &str) -> Run {
    Run {
        success: false,
        stdout: String::new(),
        stderr: format!("{line}\n"),
    }
}

fn is_object_id(s: &str) -> bool {
    s.len() == 24
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn accounts(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT id, name FROM accounts ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// (id, email, display name, roles, account ids) of every user.
type UserRow = (String, String, Option<String>, Vec<String>, Vec<String>);

async fn users(pool: &PgPool) -> Vec<UserRow> {
    sqlx::query_as(
        "SELECT u.id, u.email, u.display_name, u.roles,
                COALESCE(array_agg(ua.account_id ORDER BY ua.account_id)
                         FILTER (WHERE ua.account_id IS NOT NULL), '{}')
         FROM users u LEFT JOIN user_accounts ua ON ua.user_id = u.id
         GROUP BY u.id ORDER BY u.email",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn session_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Every stored session as its SessionInfo JSON, ordered by id.
async fn stored_sessions(pool: &PgPool) -> Vec<Value> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    let mut out = Vec::new();
    for id in ids {
        let s = voice_api::storage::sessions::load(pool, &id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{id} vanished"));
        out.push(serde_json::to_value(s).unwrap());
    }
    out
}

/// A realistic SessionInfo document (every enum and bool at a non-default value).
fn session_doc(id: &str, account: &str, note: &str) -> Value {
    json!({
        "id": id,
        "dateCreated": "2026-11-25T09:00:00.000Z",
        "dateLastModified": "2026-11-25T09:01:00.000Z",
        "createdBy": "system",
        "lastModifiedBy": "system",
        "dialState": "Active",
        "callState": "Connected",
        "queueState": "Connected",
        "accountId": account,
        "accountName": format!("Account «{account}»"),
        "customerBreadcrumb": [{"id": "c0", "name": "Root"}, {"id": "c1", "name": "Leaf \"1\""}],
        "channel": "Chat",
        "ended": true,
        "consoleData": note,
        "holdReason": "Transferring",
        "log": [{"date": "2026-11-25T09:00:00.000Z", "message": "started"}],
        "members": [{
            "identity": "client:a",
            "isOriginalMember": true,
            "applicationData": {"k": "v"},
            "callState": "Connected",
            "role": "Caller",
            "muted": true
        }],
        "direction": "Outgoing",
        "wasMissed": true
    })
}

fn write_temp(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

// ---------------------------------------------------------------------------------------------
// account add
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn account_add_prints_a_new_object_id_and_creates_the_account() {
    // Arrange
    let db = TestDb::new().await;

    // Act
    let run = voice_api(
        &db.url,
        &["account", "add", "--name", "Acme «Support»"],
        None,
    );

    // Assert
    assert!(run.success, "{run:?}");
    let id = run.last_line().to_string();
    assert!(is_object_id(&id), "{id:?} is not a 24-character hex id");
    assert_eq!(
        accounts(&db.pool).await,
        vec![(id, "Acme «Support»".into())]
    );
}

#[tokio::test]
async fn account_add_with_an_id_uses_that_id() {
    // Arrange
    let db = TestDb::new().await;

    // Act
    let run = voice_api(
        &db.url,
        &["account", "add", "--name", "Acme", "--id", "acct-1"],
        None,
    );

    // Assert
    assert!(run.success, "{run:?}");
    assert_eq!(run.last_line(), "acct-1");
    assert_eq!(
        accounts(&db.pool).await,
        vec![("acct-1".into(), "Acme".into())]
    );
}

#[tokio::test]
async fn account_add_with_an_existing_id_fails_with_one_line_and_keeps_the_account() {
    // Arrange
    let db = TestDb::new().await;
    let first = voice_api(
        &db.url,
        &["account", "add", "--name", "First", "--id", "acct-1"],
        None,
    );

    // Act
    let second = voice_api(
        &db.url,
        &["account", "add", "--name", "Second", "--id", "acct-1"],
        None,
    );

    // Assert
    assert!(first.success, "{first:?}");
    assert_eq!(second, failure("error: account acct-1 already exists"));
    assert_eq!(
        accounts(&db.pool).await,
        vec![("acct-1".into(), "First".into())]
    );
}

#[tokio::test]
async fn the_database_url_option_beats_the_environment() {
    // Arrange
    let db = TestDb::new().await;
    let unreachable = "postgres://postgres@127.0.0.1:1/x";

    // Act
    let run = voice_api(
        unreachable,
        &[
            "account",
            "add",
            "--name",
            "Acme",
            "--id",
            "acct-1",
            "--database-url",
            &db.url,
        ],
        None,
    );

    // Assert
    assert!(run.success, "{run:?}");
    assert_eq!(
        accounts(&db.pool).await,
        vec![("acct-1".into(), "Acme".into())]
    );
}

// ---------------------------------------------------------------------------------------------
// user add
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn user_add_prints_the_user_id_and_stores_a_hash_not_the_password() {
    // Arrange
    let db = TestDb::new().await;
    voice_api(
        &db.url,
        &["account", "add", "--name", "Acme", "--id", "acct-1"],
        None,
    );

    // Act
    let run = voice_api(
        &db.url,
        &[
            "user",
            "add",
            "--account",
            "acct-1",
            "--email",
            "ana@example.com",
            "--password",
            "s3cret pw",
            "--name",
            "Ana Agent",
            "--role",
            "manager",
            "--role",
            "USER",
        ],
        None,
    );

    // Assert
    assert!(run.success, "{run:?}");
    let id = run.last_line().to_string();
    assert!(is_object_id(&id), "{id:?}");
    assert_eq!(
        users(&db.pool).await,
        vec![(
            id.clone(),
            "ana@example.com".into(),
            Some("Ana Agent".into()),
            vec!["Manager".into(), "User".into()],
            vec!["acct-1".into()],
        )]
    );
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(&id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("s3cret"));
    assert!(voice_api::auth::verify_secret("s3cret pw", &hash));
}

#[tokio::test]
async fn a_user_added_by_the_cli_can_patch_a_session_of_its_account_over_http() {
    // Arrange
    let app = spawn_app().await;
    let url = app.db.url.clone();
    voice_api(
        &url,
        &["account", "add", "--name", "Acme", "--id", "acct-1"],
        None,
    );
    let user_id = voice_api(
        &url,
        &[
            "user",
            "add",
            "--account",
            "acct-1",
            "--email",
            "ana@example.com",
            "--password",
            "pw",
        ],
        None,
    )
    .last_line()
    .to_string();
    let docs = json!([session_doc("s1", "acct-1", "before")]).to_string();
    let imported = voice_api(&url, &["import", "-"], Some(&docs));

    // Act
    let res = app
        .http
        .patch(app.url("/sessions/s1"))
        .basic_auth("ana@example.com", Some("pw"))
        .json(&json!({"consoleData": "after"}))
        .send()
        .await
        .unwrap();

    // Assert
    assert!(imported.success, "{imported:?}");
    assert_eq!(res.status().as_u16(), 200);
    let mut body: Value = res.json().await.unwrap();
    let stamp = body["dateLastModified"].take();
    assert!(
        stamp.as_str().is_some_and(|s| s.starts_with("20")),
        "{stamp}"
    );
    let mut expected = session_doc("s1", "acct-1", "after");
    expected["lastModifiedBy"] = json!(user_id);
    expected["dateLastModified"] = Value::Null;
    assert_eq!(body, expected);
}

#[tokio::test]
async fn user_add_with_an_unknown_role_fails_listing_the_roles() {
    // Arrange
    let db = TestDb::new().await;
    voice_api(
        &db.url,
        &["account", "add", "--name", "Acme", "--id", "acct-1"],
        None,
    );

    // Act
    let run = voice_api(
        &db.url,
        &[
            "user",
            "add",
            "--account",
            "acct-1",
            "--email",
            "ana@example.com",
            "--password",
            "pw",
            "--role",
            "Boss",
        ],
        None,
    );

    // Assert
    assert_eq!(
        run,
        failure(&format!("error: unknown role \"Boss\"; {ROLES_LINE}"))
    );
    assert_eq!(users(&db.pool).await, vec![]);
}

#[tokio::test]
async fn user_add_to_an_unknown_account_fails_and_creates_no_user() {
    // Arrange
    let db = TestDb::new().await;

    // Act
    let run = voice_api(
        &db.url,
        &[
            "user",
            "add",
            "--account",
            "no-such-account",
            "--email",
            "ana@example.com",
            "--password",
            "pw",
        ],
        None,
    );

    // Assert
    assert_eq!(run, failure("error: no account with id no-such-account"));
    assert_eq!(users(&db.pool).await, vec![]);
}

#[tokio::test]
async fn user_add_with_an_e_mail_already_taken_in_any_case_fails() {
    // Arrange
    let db = TestDb::new().await;
    voice_api(
        &db.url,
        &["account", "add", "--name", "Acme", "--id", "acct-1"],
        None,
    );
    let add = |email: &str| {
        voice_api(
            &db.url,
            &[
                "user",
                "add",
                "--account",
                "acct-1",
                "--email",
                email,
                "--password",
                "pw",
            ],
            None,
        )
    };
    let first = add("ana@example.com");

    // Act
    let second = add("Ana@Example.com");

    // Assert
    assert!(first.success, "{first:?}");
    assert_eq!(
        second,
        failure("error: a user with e-mail Ana@Example.com already exists")
    );
    assert_eq!(
        users(&db.pool).await,
        vec![(
            first.last_line().to_string(),
            "ana@example.com".into(),
            None,
            vec![],
            vec!["acct-1".into()],
        )]
    );
}

// ---------------------------------------------------------------------------------------------
// import
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn import_from_a_file_stores_every_session_and_creates_missing_accounts() {
    // Arrange
    let db = TestDb::new().await;
    let docs = vec![
        session_doc("s1", "acct-a", "one"),
        session_doc("s2", "acct-a", "two"),
        session_doc("s3", "acct-b", "three"),
    ];
    let file = write_temp(&Value::Array(docs.clone()).to_string());

    // Act
    let run = voice_api(&db.url, &["import", file.path().to_str().unwrap()], None);

    // Assert
    assert!(run.success, "{run:?}");
    assert_eq!(run.last_line(), "imported 3 sessions");
    assert_eq!(stored_sessions(&db.pool).await, docs);
    assert_eq!(
        accounts(&db.pool).await,
        vec![
            ("acct-a".into(), "Account «acct-a»".into()),
            ("acct-b".into(), "Account «acct-b»".into()),
        ]
    );
}

#[tokio::test]
async fn import_from_stdin_stores_every_session() {
    // Arrange
    let db = TestDb::new().await;
    let docs = vec![
        session_doc("s1", "acct-a", "one"),
        session_doc("s2", "acct-a", "two"),
    ];

    // Act
    let run = voice_api(
        &db.url,
        &["import", "-"],
        Some(&Value::Array(docs.clone()).to_string()),
    );

    // Assert
    assert!(run.success, "{run:?}");
    assert_eq!(run.last_line(), "imported 2 sessions");
    assert_eq!(stored_sessions(&db.pool).await, docs);
}

#[tokio::test]
async fn an_account_without_a_name_is_created_named_after_its_id() {
    // Arrange
    let db = TestDb::new().await;
    let mut doc = session_doc("s1", "acct-a", "one");
    doc.as_object_mut().unwrap().remove("accountName");

    // Act
    let run = voice_api(&db.url, &["import", "-"], Some(&json!([doc]).to_string()));

    // Assert
    assert!(run.success, "{run:?}");
    assert_eq!(
        accounts(&db.pool).await,
        vec![("acct-a".into(), "acct-a".into())]
    );
    assert_eq!(stored_sessions(&db.pool).await, vec![doc]);
}

#[tokio::test]
async fn re_importing_the_same_ids_replaces_the_sessions_without_adding_rows() {
    // Arrange
    let db = TestDb::new().await;
    let first = json!([
        session_doc("s1", "acct-a", "one"),
        session_doc("s2", "acct-a", "two")
    ]);
    voice_api(&db.url, &["import", "-"], Some(&first.to_string()));
    let mut replaced_s1 = session_doc("s1", "acct-a", "one, again");
    replaced_s1["callState"] = json!("Hold");
    replaced_s1["members"] = json!([]);
    replaced_s1.as_object_mut().unwrap().remove("log");
    let replaced_s2 = session_doc("s2", "acct-a", "two, again");

    // Act
    let run = voice_api(
        &db.url,
        &["import", "-"],
        Some(&json!([replaced_s1, replaced_s2]).to_string()),
    );

    // Assert
    assert!(run.success, "{run:?}");
    assert_eq!(run.last_line(), "imported 2 sessions");
    assert_eq!(session_count(&db.pool).await, 2);
    assert_eq!(
        stored_sessions(&db.pool).await,
        vec![replaced_s1, replaced_s2]
    );
}

/// Runs a bad import over a database that already holds `s0`, and checks that it failed with
/// one stderr line naming document 1 and `reason`, and that nothing of the file landed.
async fn assert_bad_import_changes_nothing(second: Value, reason_contains: &str) {
    // Arrange
    let db = TestDb::new().await;
    let existing = session_doc("s0", "acct-a", "existing");
    voice_api(
        &db.url,
        &["import", "-"],
        Some(&json!([existing]).to_string()),
    );
    let mut touched = existing.clone();
    touched["consoleData"] = json!("overwritten by the bad file");
    let file = write_temp(
        &json!([
            session_doc("s1", "acct-new", "first, valid"),
            second,
            touched,
        ])
        .to_string(),
    );

    // Act
    let run = voice_api(&db.url, &["import", file.path().to_str().unwrap()], None);

    // Assert
    assert!(!run.success, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    assert!(
        run.stderr.starts_with("error: document 1: "),
        "{:?}",
        run.stderr
    );
    assert!(run.stderr.contains(reason_contains), "{:?}", run.stderr);
    assert_eq!(stored_sessions(&db.pool).await, vec![existing]);
    assert_eq!(
        accounts(&db.pool).await,
        vec![("acct-a".into(), "Account «acct-a»".into())]
    );
}

#[tokio::test]
async fn an_import_with_an_invalid_enum_in_document_1_fails_on_one_line_and_imports_nothing() {
    let mut bad = session_doc("s2", "acct-new", "second");
    bad["callState"] = json!("Bogus");
    assert_bad_import_changes_nothing(bad, "Bogus").await;
}

#[tokio::test]
async fn an_import_with_document_1_missing_its_account_id_fails_on_one_line_and_imports_nothing() {
    let mut bad = session_doc("s2", "acct-new", "second");
    bad.as_object_mut().unwrap().remove("accountId");
    assert_bad_import_changes_nothing(bad, "accountId").await;
}

#[tokio::test]
async fn an_import_with_document_1_missing_its_id_fails_on_one_line_and_imports_nothing() {
    let mut bad = session_doc("s2", "acct-new", "second");
    bad.as_object_mut().unwrap().remove("id");
    assert_bad_import_changes_nothing(bad, "'id'").await;
}

#[tokio::test]
async fn an_import_whose_document_1_is_not_an_object_fails_on_one_line_and_imports_nothing() {
    assert_bad_import_changes_nothing(json!("s2"), "not a JSON object").await;
}

#[tokio::test]
async fn an_import_refused_by_the_database_at_document_1_rolls_back_document_0() {
    // PostgreSQL text cannot hold NUL: the document passes parsing and fails on insert.
    let bad = session_doc("s2", "acct-new", "nul \u{0} inside");
    assert_bad_import_changes_nothing(bad, "0x00").await;
}

#[tokio::test]
async fn an_invalid_enum_value_with_a_line_break_is_still_reported_on_one_line() {
    let mut bad = session_doc("s2", "acct-new", "second");
    bad["callState"] = json!("Bo\ngus");
    assert_bad_import_changes_nothing(bad, "SessionCallState").await;
}

#[tokio::test]
async fn an_import_that_is_not_a_json_array_fails_on_one_line() {
    // Arrange
    let db = TestDb::new().await;

    // Act
    let run = voice_api(
        &db.url,
        &["import", "-"],
        Some(&session_doc("s1", "a", "x").to_string()),
    );

    // Assert
    assert!(!run.success, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: the file is not a JSON array of sessions: "),
        "{:?}",
        run.stderr
    );
    assert_eq!(session_count(&db.pool).await, 0);
}

#[tokio::test]
async fn an_import_of_a_missing_file_fails_on_one_line_naming_the_file() {
    // Arrange
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let missing = missing.to_str().unwrap();

    // Act
    let run = voice_api(&db.url, &["import", missing], None);

    // Assert
    assert!(!run.success, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    assert!(run.stderr.contains(missing), "{:?}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// An unreachable database
// ---------------------------------------------------------------------------------------------

/// Checks that a run against an unreachable database failed with one line naming `shown`.
fn assert_one_line_naming(run: &Run, shown: &str) {
    assert!(!run.success, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    assert!(run.stderr.starts_with("error: "), "{:?}", run.stderr);
    assert!(run.stderr.contains(shown), "{:?}", run.stderr);
    for noise in ["panicked", "backtrace", "Backtrace", "Stack"] {
        assert!(!run.stderr.contains(noise), "{:?}", run.stderr);
        assert!(!run.stdout.contains(noise), "{:?}", run.stdout);
    }
}

#[test]
fn serve_with_an_unreachable_database_exits_with_one_line_naming_the_url() {
    // Arrange
    let url = "postgres://postgres@127.0.0.1:1/x";

    // Act
    let run = voice_api(url, &["serve", "--listen", "127.0.0.1:0"], None);

    // Assert
    assert_one_line_naming(&run, url);
}

#[test]
fn serve_with_an_unreachable_database_does_not_print_the_password() {
    // Arrange
    let url = "postgres://postgres:hunter2@127.0.0.1:1/x";

    // Act
    let run = voice_api(url, &["serve", "--listen", "127.0.0.1:0"], None);

    // Assert
    assert_one_line_naming(&run, "postgres://postgres:***@127.0.0.1:1/x");
    assert!(!run.stderr.contains("hunter2"), "{:?}", run.stderr);
}

#[test]
fn operator_commands_with_an_unreachable_database_exit_with_one_line_naming_the_url() {
    let url = "postgres://postgres@127.0.0.1:1/x";
    for args in [
        &["account", "add", "--name", "Acme"][..],
        &[
            "user",
            "add",
            "--account",
            "a",
            "--email",
            "a@example.com",
            "--password",
            "pw",
        ][..],
        &["import", "-"][..],
    ] {
        // Act
        let run = voice_api(url, args, Some("[]"));

        // Assert
        assert_one_line_naming(&run, url);
    }
}

#[tokio::test]
async fn user_password_replaces_the_password_at_once_even_where_it_was_cached_and_ends_logins() {
    // Arrange: a user whose password the server has verified (and cached), and who has a
    // login session.
    let app = spawn_app().await;
    let url = app.db.url.clone();
    voice_api(
        &url,
        &["account", "add", "--name", "Acme", "--id", "acct-1"],
        None,
    );
    voice_api(
        &url,
        &[
            "user",
            "add",
            "--account",
            "acct-1",
            "--email",
            "ana@example.com",
            "--password",
            "old-pw",
        ],
        None,
    );
    let docs = json!([session_doc("s1", "acct-1", "before")]).to_string();
    assert!(voice_api(&url, &["import", "-"], Some(&docs)).success);
    let get = |user: &'static str, password: &'static str| {
        app.http
            .get(app.url("/sessions/s1"))
            .basic_auth(user, Some(password))
            .send()
    };
    assert_eq!(
        get("ana@example.com", "old-pw")
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let login = app
        .http
        .post(app.url("/auth/credentials"))
        .json(&json!({"userName": "ana@example.com", "password": "old-pw"}))
        .send()
        .await
        .unwrap();
    let session_id = login.json::<Value>().await.unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    let with_session = || {
        app.http
            .get(app.url("/sessions/s1"))
            .header("X-ss-id", session_id.as_str())
            .send()
    };
    assert_eq!(with_session().await.unwrap().status().as_u16(), 200);

    // Act
    let changed = voice_api(
        &url,
        &[
            "user",
            "password",
            "--email",
            "ANA@example.com",
            "--password",
            "new-pw",
        ],
        None,
    );
    let unknown = voice_api(
        &url,
        &[
            "user",
            "password",
            "--email",
            "nobody@example.com",
            "--password",
            "x",
        ],
        None,
    );

    // Assert
    assert_eq!(
        changed,
        Run {
            success: true,
            stdout: "password changed for ANA@example.com\n".into(),
            stderr: String::new(),
        }
    );
    assert_eq!(
        unknown,
        failure("error: no user with e-mail nobody@example.com")
    );
    assert_eq!(
        get("ana@example.com", "old-pw")
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        get("ana@example.com", "new-pw")
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(with_session().await.unwrap().status().as_u16(), 401);
}
