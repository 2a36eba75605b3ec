//! `DELETE /sessions?accountId&startDateTime&endDateTime` (DeleteSessions), as the Evo Voice
//! client's `session delete` sends it: one account's sessions created in a closed range, in one
//! statement, by a Manager of that account or a SystemAdministrator only.

use super::*;

fn id(n: u32) -> String {
    format!("5f0c1a2b3c4d5e6f7a8d{n:04x}")
}

/// s1–s3 in ACCOUNT on Nov 21–23, s9 in OTHER_ACCOUNT on Nov 22.
async fn deleting_world() -> TestApp {
    let app = TestApp::spawn().await;
    for user in [&AGENT, &ADA, &GRACE, &ADMIN] {
        add_user(app.pool(), user).await;
    }
    let mut docs: Vec<Value> = (1..=3)
        .map(|n| {
            with(
                &simple_session(&id(n), ACCOUNT),
                json!({"dateCreated": format!("2026-11-2{n}T12:00:00.000Z")}),
            )
        })
        .collect();
    docs.push(with(
        &simple_session(&id(9), OTHER_ACCOUNT),
        json!({"dateCreated": "2026-11-22T12:00:00.000Z"}),
    ));
    import(app.pool(), &docs).await;
    app
}

async fn remaining(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT id FROM sessions ORDER BY id")
        .fetch_all(app.pool())
        .await
        .unwrap()
}

fn query(account: &str, start: &str, end: &str) -> String {
    format!("/sessions?accountId={account}&startDateTime={start}&endDateTime={end}")
}

#[tokio::test]
async fn a_manager_deletes_the_accounts_sessions_in_the_range_and_nothing_else() {
    let app = deleting_world().await;
    let res = app
        .delete(&query(
            ACCOUNT,
            "2026-11-22T00:00:00Z",
            "2026-11-23T12:00:00Z",
        ))
        .signed_in_as(&ADA)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json(), json!({"count": 2}));
    // Both ends included; the other account's session in the same range stays.
    assert_eq!(remaining(&app).await, [id(1), id(9)]);
    let xml = app
        .delete(&format!(
            "{}&format=xml",
            query(ACCOUNT, "2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z")
        ))
        .signed_in_as(&ADMIN)
        .await;
    assert_eq!(
        xml.text,
        r#"<?xml version="1.0" encoding="utf-8"?><DeleteSessionsResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><Count>1</Count></DeleteSessionsResponse>"#
    );
    assert_eq!(remaining(&app).await, [id(9)]);
}

#[tokio::test]
async fn only_a_manager_of_that_account_or_an_administrator_may_delete() {
    let app = deleting_world().await;
    let range = ("2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z");
    for (user, account) in [
        (&AGENT, ACCOUNT),
        (&GRACE, OTHER_ACCOUNT),
        (&ADA, OTHER_ACCOUNT),
    ] {
        let res = app
            .delete(&query(account, range.0, range.1))
            .signed_in_as(user)
            .await;
        assert_eq!(
            res.reply(),
            Reply::error(
                403,
                "Forbidden",
                &format!(
                    "Only a Manager of account '{account}' (or a SystemAdministrator) may delete its sessions"
                ),
                json!([])
            ),
            "{}",
            user.email
        );
    }
    assert_eq!(remaining(&app).await, [id(1), id(2), id(3), id(9)]);
    let anonymous = app.delete(&query(ACCOUNT, range.0, range.1)).await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn an_open_or_malformed_range_is_refused_and_deletes_nothing() {
    let app = deleting_world().await;
    let cases = [
        (
            format!("/sessions?accountId={ACCOUNT}&startDateTime=2026-11-01T00:00:00Z"),
            "endDateTime",
        ),
        (
            format!("/sessions?accountId={ACCOUNT}&endDateTime=2026-11-30T00:00:00Z"),
            "startDateTime",
        ),
        (
            "/sessions?startDateTime=2026-11-01T00:00:00Z&endDateTime=2026-11-30T00:00:00Z"
                .to_string(),
            "accountId",
        ),
        (
            query(ACCOUNT, "2026-11-01", "2026-11-30T00:00:00Z"),
            "startDateTime",
        ),
        (
            query(ACCOUNT, "2026-11-30T00:00:00Z", "2026-11-01T00:00:00Z"),
            "endDateTime",
        ),
    ];
    for (path, member) in cases {
        let res = app.delete(&path).signed_in_as(&ADA).await;
        assert_eq!(res.status, 400, "{path}: {}", res.text);
        assert_eq!(
            res.json()["responseStatus"]["errors"][0]["fieldName"],
            member,
            "{path}"
        );
    }
    assert_eq!(remaining(&app).await, [id(1), id(2), id(3), id(9)]);
}
