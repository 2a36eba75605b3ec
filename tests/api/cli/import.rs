//! `voice-api import`: whole files in one transaction, validated document by document.

use super::*;

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
async fn an_import_with_text_xml_cannot_carry_at_document_1_imports_nothing() {
    // PostgreSQL text cannot hold NUL, nor XML 1.0 a U+0001: the contract refuses both.
    let bad = session_doc("s2", "acct-new", "nul \u{0} inside");
    assert_bad_import_changes_nothing(bad, "'consoleData' must not contain NUL").await;
    let bad = session_doc("s2", "acct-new", "control \u{1} inside");
    assert_bad_import_changes_nothing(bad, "'consoleData' must not contain U+0001").await;
}

#[tokio::test]
async fn an_invalid_enum_value_with_a_line_break_is_still_reported_on_one_line() {
    let mut bad = session_doc("s2", "acct-new", "second");
    bad["callState"] = json!("Bo\ngus");
    assert_bad_import_changes_nothing(bad, "'Bo\\ngus' is an Invalid value for 'callState'").await;
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
