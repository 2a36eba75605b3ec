//! API keys made with the CLI.

use super::*;

// ---------------------------------------------------------------------------------------------
// API keys (through the CLI binary)
// ---------------------------------------------------------------------------------------------

/// Runs `voice-api ARGS` against the test database; returns stdout, failing on a non-zero exit.
fn cli(db_url: &str, args: &[&str]) -> String {
    voice_api(db_url, args, None).ok()
}

pub(super) fn basic_header(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test]
async fn an_api_key_from_the_cli_works_as_bearer_and_as_the_basic_user_name() {
    let (app, users) = seeded_app().await;
    let (key, _) = add_api_key(app.database_url(), ADA.email, "console");
    for (label, auth) in [
        ("bearer", format!("Bearer {key}")),
        ("basic user name", basic_header(&key, "")),
    ] {
        let before = stored(app.pool(), SESSION).await;
        let patch = json!({"consoleData": format!("by {label}")});
        let res = app
            .patch_session(SESSION, &patch)
            .authorization(&auth)
            .await;
        assert_eq!(res.status, 200, "{label}: {}", res.text);
        assert_eq!(
            res.json(),
            patched(&before, &patch, &users.ada, &res.json())
        );
        let res = app.auth_status().authorization(&auth).await;
        assert_eq!(
            (res.status, res.text),
            (200, ada_user_info(&users.ada)),
            "{label}"
        );
    }
    // The key is bound to its user's accounts.
    assert_eq!(
        app.get_session(FOREIGN_SESSION).bearer(&key).await.status,
        403
    );
    // A tampered key is refused.
    let mut tampered = key.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    app.get_session(SESSION)
        .bearer(&tampered)
        .await
        .assert_401(&status_json("Unauthorized", "Invalid API Key"));
}

#[tokio::test]
async fn apikey_list_shows_the_key_without_its_secret_and_only_a_hash_is_stored() {
    let (app, _) = seeded_app().await;
    let (key, id) = add_api_key(app.database_url(), ADA.email, "wallboard");
    let list = cli(app.database_url(), &["apikey", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    let fields: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(fields.len(), 5, "{list}");
    assert_eq!(&fields[..3], [id.as_str(), ADA.email, "wallboard"]);
    assert!(
        chrono::DateTime::parse_from_rfc3339(fields[3]).is_ok(),
        "{list}"
    );
    assert_eq!(fields[4], "active");
    assert_eq!(lines[1], "1 keys");
    let secret_parts: Vec<&str> = key
        .split('_')
        .filter(|p| p.len() >= 16 && *p != id)
        .collect();
    assert!(
        !secret_parts.is_empty(),
        "the key has a secret part besides its id: {key}"
    );
    for part in &secret_parts {
        assert!(!list.contains(part), "the list shows the secret: {list}");
    }
    // The database holds no part of the secret.
    let dump: String =
        sqlx::query_scalar("SELECT string_agg(row_to_json(k)::text, ' ') FROM api_keys k")
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert!(!dump.contains(&key));
    for part in &secret_parts {
        assert!(!dump.contains(part), "api_keys stores the secret: {dump}");
    }
    assert!(dump.contains("$argon2id$"), "{dump}");

    cli(app.database_url(), &["apikey", "revoke", &id]);
    let list = cli(app.database_url(), &["apikey", "list"]);
    assert!(
        list.lines()
            .next()
            .unwrap()
            .split('\t')
            .nth(4)
            .unwrap()
            .starts_with("revoked "),
        "{list}"
    );
}

#[tokio::test]
async fn a_revoked_api_key_is_refused_at_once_even_though_the_server_cached_it() {
    let (app, _) = seeded_app().await;
    let (key, id) = add_api_key(app.database_url(), ADA.email, "to revoke");
    let get = |auth: String| app.get_session(SESSION).authorization(&auth);
    // Verified and cached, in both forms.
    for _ in 0..2 {
        assert_eq!(get(format!("Bearer {key}")).await.status, 200);
        assert_eq!(get(basic_header(&key, "")).await.status, 200);
    }
    let out = cli(app.database_url(), &["apikey", "revoke", &id]);
    assert_eq!(out.lines().last(), Some(format!("revoked {id}").as_str()));
    for auth in [format!("Bearer {key}"), basic_header(&key, "")] {
        get(auth)
            .await
            .assert_401(&status_json("Unauthorized", "Invalid API Key"));
    }
    app.patch_session(SESSION, &json!({"consoleData": "revoked"}))
        .bearer(&key)
        .await
        .assert_401(&status_json("Unauthorized", "Invalid API Key"));
    assert_eq!(stored(app.pool(), SESSION).await["consoleData"], ORIG);
    // Revoking twice is an error.
    assert!(!voice_api(app.database_url(), &["apikey", "revoke", &id], None).success);
}
