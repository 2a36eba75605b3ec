//! The `voice-api` binary's operator commands (`account add`, `user add`, `user password`,
//! `import`) and its start-up failure, run as a process against a test database.

mod import;

use crate::helpers::binary::{Run, voice_api};
use crate::helpers::internals::password_matches;
use crate::helpers::*;
use serde_json::{Value, json};
use sqlx::PgPool;
use std::io::Write;

const ROLES_LINE: &str = "roles are SystemAdministrator, Manager, Customer, User";

/// A session document as `voice-api import` takes it: [`full_session`] with `note` as its
/// consoleData and an account name of its own.
pub fn session_doc(id: &str, account: &str, note: &str) -> Value {
    with(
        &full_session(id, account),
        json!({"consoleData": note, "accountName": format!("Account «{account}»")}),
    )
}

pub fn is_object_id(s: &str) -> bool {
    s.len() == 24
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub async fn accounts(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT id, name FROM accounts ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// (id, email, display name, roles, account ids) of every user.
pub type UserRow = (String, String, Option<String>, Vec<String>, Vec<String>);

pub async fn users(pool: &PgPool) -> Vec<UserRow> {
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

pub async fn session_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Every stored session as its SessionInfo JSON, ordered by id.
pub async fn stored_sessions(pool: &PgPool) -> Vec<Value> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    let mut out = Vec::new();
    for id in ids {
        out.push(stored(pool, &id).await);
    }
    out
}

pub fn write_temp(text: &str) -> tempfile::NamedTempFile {
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
    assert_eq!(second, Run::failure("error: account acct-1 already exists"));
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
    assert!(password_matches("s3cret pw", &hash));
}

#[tokio::test]
async fn a_user_added_by_the_cli_can_patch_a_session_of_its_account_over_http() {
    // Arrange
    let app = TestApp::spawn().await;
    let url = app.database_url().to_string();
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
        Run::failure(&format!("error: unknown role \"Boss\"; {ROLES_LINE}"))
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
    assert_eq!(
        run,
        Run::failure("error: no account with id no-such-account")
    );
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
        Run::failure("error: a user with e-mail Ana@Example.com already exists")
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

/// Merged with the former `a_password_change_invalidates_a_cached_basic_credential_at_once`
/// (auth), which made the same change with SQL.
#[tokio::test]
async fn user_password_replaces_the_password_at_once_even_where_it_was_cached_and_ends_logins() {
    // Arrange: ADA, whose password the server has verified (and cached), with a login session.
    let app = TestApp::spawn().await;
    let url = app.database_url().to_string();
    add_user(app.pool(), &ADA).await;
    import(app.pool(), &[simple_session(SESSION, ACCOUNT)]).await;
    let get = |password: &str| app.get_session(SESSION).basic(ADA.email, password);
    assert_eq!(get(ADA.password).await.status, 200);
    assert_eq!(get(ADA.password).await.status, 200, "now cached");
    let login = app.login(&ADA, false).await;
    assert_eq!(
        app.get_session(SESSION).with_login(&login).await.status,
        200
    );
    let new_password = "N3w-Passw0rd-2026";

    // Act
    let changed = voice_api(
        &url,
        &[
            "user",
            "password",
            "--email",
            "ADA@example.com",
            "--password",
            new_password,
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
            stdout: "password changed for ADA@example.com\n".into(),
            stderr: String::new(),
        }
    );
    assert_eq!(
        unknown,
        Run::failure("error: no user with e-mail nobody@example.com")
    );
    get(ADA.password).await.assert_401(&invalid_credentials());
    app.patch_session(SESSION, &json!({"consoleData": "old password"}))
        .signed_in_as(&ADA)
        .await
        .assert_401(&invalid_credentials());
    assert_eq!(get(new_password).await.status, 200);
    assert_eq!(
        app.get_session(SESSION).with_login(&login).await.status,
        401,
        "the login ended"
    );
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);
}
