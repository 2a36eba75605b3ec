//! `GET /sessions` (ListSessions) as the Evo Voice command-line client calls it: only the
//! caller's accounts, filters, 0-based paging, sorting, JSON and XML; whole items compared with
//! what GetSession answers for the same session.

use super::*;
use std::time::Duration;

/// Sessions of ACCOUNT, oldest first (s1 … s5), and one of OTHER_ACCOUNT.
fn id(n: u32) -> String {
    format!("5f0c1a2b3c4d5e6f7a8b{n:04x}")
}

async fn listing_world() -> TestApp {
    let app = TestApp::spawn().await;
    add_user(app.pool(), &AGENT).await;
    add_user(app.pool(), &GRACE).await;
    add_user(app.pool(), &ADMIN).await;
    let mut docs: Vec<Value> = (1..=5)
        .map(|n| {
            with(
                &simple_session(&id(n), ACCOUNT),
                json!({
                    "dateCreated": format!("2026-11-2{n}T10:00:00.000Z"),
                    "fromAddress": format!("+1555010{n}"),
                    "toAddress": if n % 2 == 0 { "client:Sam%Agent" } else { "+15550100" },
                    "customerId": if n <= 2 { "cust-a" } else { "cust-b" },
                    "endpointId": format!("ep-{}", n % 2),
                    "displayName": format!("call {}", 6 - n),
                    "log": [{"date": "2026-11-21T10:00:00.000Z", "message": format!("note {n}: caller asked for BILLING")}],
                }),
            )
        })
        .collect();
    docs.push(with(
        &simple_session(&id(99), OTHER_ACCOUNT),
        json!({"dateCreated": "2026-11-29T10:00:00.000Z"}),
    ));
    import(app.pool(), &docs).await;
    app
}

/// The ids of a list answer, in order, and the answer's paging members.
fn ids_and_paging(body: &Value) -> (Vec<String>, Value) {
    let ids = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let paging = json!({
        "totalCount": body["totalCount"],
        "totalPages": body["totalPages"],
        "hasMorePages": body["hasMorePages"],
    });
    (ids, paging)
}

async fn list(app: &TestApp, user: &User, query: &str) -> Response {
    app.get(&format!("/sessions{query}"))
        .signed_in_as(user)
        .await
}

/// For each (query, sessions): AGENT's list for the query holds those sessions, in that order.
async fn assert_lists<Q: AsRef<str>>(
    app: &TestApp,
    cases: impl IntoIterator<Item = (Q, Vec<u32>)>,
) {
    for (query, want) in cases {
        let query = query.as_ref();
        let res = list(app, &AGENT, query).await;
        assert_eq!(res.status, 200, "{query}: {}", res.text);
        let want: Vec<String> = want.into_iter().map(id).collect();
        assert_eq!(ids_and_paging(&res.json()).0, want, "{query}");
    }
}

#[tokio::test]
async fn a_list_holds_only_the_callers_accounts_newest_first_with_totals_and_whole_sessions() {
    let app = listing_world().await;
    let res = list(&app, &AGENT, "").await;
    assert_eq!(res.status, 200, "{}", res.text);
    let body = res.json();
    let (ids, paging) = ids_and_paging(&body);
    assert_eq!(ids, [id(5), id(4), id(3), id(2), id(1)]);
    assert_eq!(
        paging,
        json!({"totalCount": 5, "totalPages": 1, "hasMorePages": false})
    );
    // Each item is the whole session, exactly as GetSession answers it.
    for item in body["items"].as_array().unwrap() {
        let got = app
            .get_session(item["id"].as_str().unwrap())
            .signed_in_as(&AGENT)
            .await;
        assert_eq!(&got.json(), item);
    }
    // Another account's user sees only theirs; an administrator sees every account.
    let (ids, _) = ids_and_paging(&list(&app, &GRACE, "").await.json());
    assert_eq!(ids, [id(99)]);
    let (ids, _) = ids_and_paging(&list(&app, &ADMIN, "?countPerPage=2").await.json());
    assert_eq!(ids, [id(99), id(5)]);
}

#[tokio::test]
async fn an_explicit_account_the_caller_may_not_act_in_is_403_and_lists_nothing() {
    let app = listing_world().await;
    for query in [
        format!("?accountIds={OTHER_ACCOUNT}"),
        format!("?accountIds={ACCOUNT},{OTHER_ACCOUNT}"),
    ] {
        let res = list(&app, &AGENT, &query).await;
        assert_eq!(
            res.reply(),
            Reply::error(
                403,
                "Forbidden",
                &format!("You do not have access to account '{OTHER_ACCOUNT}'"),
                json!([])
            ),
            "{query}"
        );
    }
    let (ids, _) = ids_and_paging(
        &list(&app, &ADMIN, &format!("?accountIds={OTHER_ACCOUNT}"))
            .await
            .json(),
    );
    assert_eq!(ids, [id(99)]);
}

#[tokio::test]
async fn pages_count_from_zero_up_to_the_last_and_beyond_and_all_lifts_paging() {
    let app = listing_world().await;
    let cases = [
        (
            "?countPerPage=2",
            vec![5, 4],
            json!({"totalCount": 5, "totalPages": 3, "hasMorePages": true}),
        ),
        (
            "?countPerPage=2&page=1",
            vec![3, 2],
            json!({"totalCount": 5, "totalPages": 3, "hasMorePages": true}),
        ),
        (
            "?countPerPage=2&page=2",
            vec![1],
            json!({"totalCount": 5, "totalPages": 3, "hasMorePages": false}),
        ),
        (
            "?countPerPage=2&page=3",
            vec![],
            json!({"totalCount": 0, "totalPages": 0, "hasMorePages": false}),
        ),
        (
            "?countPerPage=2&all=true",
            vec![5, 4, 3, 2, 1],
            json!({"totalCount": 5, "totalPages": 1, "hasMorePages": false}),
        ),
        // Simplified paging: no totals, but whether more pages follow.
        (
            "?countPerPage=2&simplifiedPaging=true",
            vec![5, 4],
            json!({"totalCount": 0, "totalPages": 0, "hasMorePages": true}),
        ),
        (
            "?countPerPage=4&page=1&simplifiedPaging=true",
            vec![1],
            json!({"totalCount": 0, "totalPages": 0, "hasMorePages": false}),
        ),
    ];
    for (query, want, paging) in cases {
        let res = list(&app, &AGENT, query).await;
        assert_eq!(res.status, 200, "{query}: {}", res.text);
        let want: Vec<String> = want.into_iter().map(id).collect();
        assert_eq!(ids_and_paging(&res.json()), (want, paging), "{query}");
    }
}

#[tokio::test]
async fn every_filter_narrows_the_list_as_the_client_sends_it() {
    let app = listing_world().await;
    let cases: Vec<(String, Vec<u32>)> = vec![
        ("?customerIds=cust-a".into(), vec![2, 1]),
        (
            "?customerIds=cust-a,cust-b&endpointIds=ep-0".into(),
            vec![4, 2],
        ),
        (format!("?specificIds={},{}", id(1), id(3)), vec![3, 1]),
        // Repeated keys add up, as ServiceStack joins them.
        (
            format!("?specificIds={}&specificIds={}", id(1), id(3)),
            vec![3, 1],
        ),
        // Another account's session is not found by id either.
        (format!("?specificIds={},{}", id(1), id(99)), vec![1]),
        // Contains, in any case; `%` is a character, not a wildcard.
        ("?from=5550103".into(), vec![3]),
        ("?to=sam%25agent".into(), vec![4, 2]),
        ("?to=m%25A".into(), vec![4, 2]),
        ("?to=m_A".into(), vec![]),
        ("?log=billing".into(), vec![5, 4, 3, 2, 1]),
        ("?log=note%203".into(), vec![3]),
        // Days are whole UTC days, both ends included.
        (
            "?startDate=2026-11-22&endDate=2026-11-24".into(),
            vec![4, 3, 2],
        ),
        ("?startDate=2026-11-25".into(), vec![5]),
        ("?endDate=2026-11-21".into(), vec![1]),
        // searchArchive: there is no separate archive, every stored session is searched.
        ("?searchArchive=true&customerIds=cust-a".into(), vec![2, 1]),
        (
            format!("?accountIds={ACCOUNT}&from=%2B1555010"),
            vec![5, 4, 3, 2, 1],
        ),
    ];
    assert_lists(&app, cases).await;
}

#[tokio::test]
async fn any_member_sorts_either_way_with_the_id_breaking_ties() {
    let app = listing_world().await;
    let cases = [
        ("?sortField=displayName", vec![5, 4, 3, 2, 1]),
        (
            "?sortField=DisplayName&sortOrder=Descend",
            vec![1, 2, 3, 4, 5],
        ),
        (
            "?sortField=dateCreated&sortOrder=Ascend",
            vec![1, 2, 3, 4, 5],
        ),
        // Equal values: ties broken by id, in the same direction.
        ("?sortField=toAddress&sortOrder=Ascend", vec![1, 3, 5, 2, 4]),
        (
            "?sortField=callState&sortOrder=Descend",
            vec![5, 4, 3, 2, 1],
        ),
    ];
    assert_lists(&app, cases).await;
}

#[tokio::test]
async fn bad_list_parameters_are_400s_naming_the_member() {
    let app = listing_world().await;
    let cases = [
        ("?countPerPage=0", "countPerPage"),
        ("?countPerPage=1001", "countPerPage"),
        ("?countPerPage=many", "countPerPage"),
        ("?page=-1", "page"),
        ("?startDate=25/11/2026", "startDate"),
        ("?endDate=2026-13-01", "endDate"),
        // Outside .NET's years 1-9999: chrono's last day panicked on the day after it, and
        // dates before PostgreSQL's first were a 500 from the database.
        ("?endDate=%2B262142-12-31", "endDate"),
        ("?endDate=10000-01-01", "endDate"),
        ("?startDate=-4714-01-01", "startDate"),
        ("?startDate=0000-12-31", "startDate"),
        ("?sortField=members", "sortField"),
        ("?sortField=nosuch", "sortField"),
        ("?sortOrder=Sideways", "sortOrder"),
        ("?parentSessionId=abc", "parentSessionId"),
    ];
    for (query, member) in cases {
        let res = list(&app, &AGENT, query).await;
        assert_eq!(res.status, 400, "{query}: {}", res.text);
        assert_eq!(
            res.json()["responseStatus"]["errors"][0]["fieldName"],
            member,
            "{query}: {}",
            res.text
        );
    }
}

/// A null item in a list member (a JSON body's `[null]`) is a binding error naming the member,
/// on every list of every operation: it used to reach the DTO and fail there, a 500.
#[tokio::test]
async fn a_null_item_in_a_list_member_is_a_400_naming_the_member() {
    let app = listing_world().await;
    let cases = [
        (
            "/api/ListSessions",
            json!({"accountIds": [null]}),
            "accountIds",
        ),
        (
            "/api/ListSessions",
            json!({"specificIds": ["a", null]}),
            "specificIds",
        ),
        (
            "/api/ListSessions",
            json!({"customerIds": [null]}),
            "customerIds",
        ),
        (
            "/api/GetEventSubscribers",
            json!({"channels": [null]}),
            "channels",
        ),
    ];
    for (path, body, member) in cases {
        let reply = app
            .post(path)
            .json(&body)
            .signed_in_as(&AGENT)
            .await
            .reply();
        let op = path.trim_start_matches("/api/");
        let errors = json!([{
            "errorCode": "SerializationException",
            "fieldName": member,
            "message": format!("'{member}' must not hold a null item"),
        }]);
        assert_eq!(
            reply,
            Reply::error(
                400,
                "SerializationException",
                &format!("Unable to bind to request '{op}'"),
                errors
            ),
            "{path} {body}"
        );
    }
}

/// `evov session log ID`: one session by id, simplified paging, its log read from items[0].
#[tokio::test]
async fn the_clients_session_log_call_answers_that_sessions_log() {
    let app = listing_world().await;
    let res = list(
        &app,
        &AGENT,
        &format!(
            "?specificIds={}&countPerPage=1&simplifiedPaging=true",
            id(3)
        ),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        res.json()["items"][0]["log"],
        json!([{"date": "2026-11-21T10:00:00.000Z", "message": "note 3: caller asked for BILLING"}])
    );
}

/// The XML answer is DataContractSerializer's shape for `ListResponse<SessionInfo>`: the
/// items in the SessionInfo namespace under a `d2p1` prefix, whose base-class members fall in
/// the root's (Voice.Api) default namespace.
#[tokio::test]
async fn the_xml_list_is_a_list_response_of_session_info() {
    let app = listing_world().await;
    let res = list(
        &app,
        &AGENT,
        &format!("?specificIds={}&format=xml&simplifiedPaging=true", id(1)),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let ns = "http://schemas.datacontract.org/2004/07/Voice.Api";
    let open = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><ListResponseOfSessionInfo xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{ns}"><HasMorePages>false</HasMorePages><Items xmlns:d2p1="{ns}.Sessions"><d2p1:SessionInfo><CreatedBy i:nil="true" /><DateCreated>2026-11-21T10:00:00.000Z</DateCreated>"#
    );
    assert!(res.text.starts_with(&open), "{}", res.text);
    assert!(
        res.text
            .contains("<d2p1:AccountId>5f0c1a2b3c4d5e6f7a8b9c00</d2p1:AccountId>"),
        "{}",
        res.text
    );
    assert!(
        res.text.ends_with(
            "</d2p1:SessionInfo></Items><TotalCount>0</TotalCount><TotalPages>0</TotalPages></ListResponseOfSessionInfo>"
        ),
        "{}",
        res.text
    );
}

/// The log search reads an index of the messages joined together (migration 0006), but a
/// match is still one message's: text spanning two messages finds nothing.
#[tokio::test]
async fn a_log_search_matches_inside_one_message_never_across_two() {
    let app = listing_world().await;
    let log = json!([
        {"date": "2026-11-21T10:00:00.000Z", "message": "Customer wants"},
        {"date": "2026-11-21T10:00:05.000Z", "message": "for a refund"},
    ]);
    import(
        app.pool(),
        &[with(&simple_session(&id(6), ACCOUNT), json!({"log": log}))],
    )
    .await;
    let cases = [
        ("?log=REFUND", vec![6]),
        ("?log=wants", vec![6]),
        // The two messages joined by a newline, or by nothing: neither is one message.
        ("?log=wants%0Afor", vec![]),
        ("?log=wantsfor", vec![]),
    ];
    assert_lists(&app, cases).await;
}

/// The indexed text is computed from the stored log on every write: a session imported again
/// with another log is found by its new messages only, and a PATCH (which leaves the log
/// alone) does not lose it.
#[tokio::test]
async fn a_log_search_follows_the_stored_log_through_later_writes() {
    let app = listing_world().await;
    let search = |text: &'static str| {
        let app = &app;
        async move {
            let res = list(app, &AGENT, &format!("?log={text}")).await;
            assert_eq!(res.status, 200, "{text}: {}", res.text);
            ids_and_paging(&res.json()).0
        }
    };
    assert_eq!(search("note%203").await, [id(3)]);
    let log = json!([{"date": "2026-11-23T10:00:00.000Z", "message": "Voicemail left"}]);
    import(
        app.pool(),
        &[with(
            &simple_session(&id(3), ACCOUNT),
            json!({"dateCreated": "2026-11-23T10:00:00.000Z", "log": log}),
        )],
    )
    .await;
    assert_eq!(search("voicemail").await, [id(3)]);
    assert!(search("note%203").await.is_empty());
    let res = app
        .patch_session(&id(3), &json!({"consoleData": "called back"}))
        .signed_in_as(&AGENT)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(search("VOICEMAIL").await, [id(3)]);
}

/// A long list is written apart from the short pages (on a blocking thread, from 101
/// sessions on): it must say exactly what the short pages say, in both formats, and many at
/// once must all be answered (each holds a permit per row it asks for until its body is sent,
/// out of a budget of two `all=true` lists).
#[tokio::test]
async fn a_long_list_says_what_its_short_pages_say_in_both_formats() {
    let app = TestApp::spawn().await;
    many_sessions(&app, |n| format!("note <{n}> & more")).await;

    // JSON: two pages of 75 (written inline) against all of them at once.
    let page = |n: u32| format!("?countPerPage=75&page={n}");
    let first = list(&app, &AGENT, &page(0)).await.json();
    let second = list(&app, &AGENT, &page(1)).await.json();
    let mut items = first["items"].as_array().unwrap().clone();
    items.extend(second["items"].as_array().unwrap().iter().cloned());
    assert_eq!(items.len(), 150);
    let all = list(&app, &AGENT, "?all=true").await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(
        all.json(),
        json!({"items": items, "totalCount": 150, "totalPages": 1, "hasMorePages": false})
    );

    // XML: the whole document, the short pages' items joined, the totals of a single page.
    let items_of = |xml: &str| {
        let start = xml.find("<d2p1:SessionInfo>").expect("items");
        let end = xml.rfind("</Items>").expect("end of items");
        xml[start..end].to_string()
    };
    let first = list(&app, &AGENT, &format!("{}&format=xml", page(0)))
        .await
        .text;
    let second = list(&app, &AGENT, &format!("{}&format=xml", page(1)))
        .await
        .text;
    let head = &first[..first.find("<d2p1:SessionInfo>").unwrap()];
    let expected = format!(
        "{}{}{}</Items><TotalCount>150</TotalCount><TotalPages>1</TotalPages></ListResponseOfSessionInfo>",
        head.replace(
            "<HasMorePages>true</HasMorePages>",
            "<HasMorePages>false</HasMorePages>"
        ),
        items_of(&first),
        items_of(&second),
    );
    assert!(
        expected.contains("note &lt;149&gt; &amp; more"),
        "{expected}"
    );
    let all = list(&app, &AGENT, "?all=true&format=xml").await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.text, expected);

    // More at once than there are permits, twice over: every one is answered in full.
    for _ in 0..2 {
        let answers = futures_util::future::join_all((0..8).map(|n| {
            let query = match n % 2 {
                0 => "?all=true&simplifiedPaging=true",
                _ => "?countPerPage=1000&simplifiedPaging=true",
            };
            list(&app, &AGENT, query)
        }))
        .await;
        for res in answers {
            assert_eq!(res.status, 200, "{}", res.text);
            assert_eq!(res.json()["items"].as_array().map(Vec::len), Some(150));
        }
    }
}

/// AGENT, and 150 sessions of ACCOUNT a second apart, oldest first, the n-th with
/// `console(n)` as its consoleData.
async fn many_sessions(app: &TestApp, console: impl Fn(u32) -> String) {
    add_user(app.pool(), &AGENT).await;
    let docs: Vec<Value> = (0..150u32)
        .map(|n| {
            with(
                &simple_session(&id(1000 + n), ACCOUNT),
                json!({
                    "dateCreated": format!("2026-11-20T10:{:02}:{:02}.000Z", n / 60, n % 60),
                    "consoleData": console(n),
                }),
            )
        })
        .collect();
    import(app.pool(), &docs).await;
}

/// 150 sessions of ~200 KB each (their consoleData): a list of them (~30 MB) fills every
/// socket buffer between the server and a client that does not read it (on loopback they take
/// more than 15 MB).
async fn big_sessions(app: &TestApp) {
    let big = "x".repeat(200_000);
    many_sessions(app, |_| big.clone()).await;
}

/// A long list requested by AGENT on a connection of its own, its body not read yet.
async fn unread_list(app: &TestApp, query: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url(&format!("/sessions{query}")))
        .basic_auth(AGENT.email, Some(AGENT.password))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_client_reading_a_long_list_slowly_gets_all_of_it() {
    let mut http = voice_api::HttpConfig::default();
    // Idle connections close after a second; a response being written is not idle.
    http.connections.keepalive_idle = Duration::from_secs(1);
    let app = TestApp::builder().http_config(http).spawn().await;
    big_sessions(&app).await;
    let res = unread_list(&app, "?all=true&simplifiedPaging=true").await;
    assert_eq!(res.status(), 200);
    let length = res.content_length().expect("a Content-Length");
    assert!(length > 30_000_000, "{length}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let body = res.bytes().await.expect("the whole body");
    assert_eq!(body.len() as u64, length);
    let list: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(150));
}

#[tokio::test]
async fn a_client_reading_a_long_list_in_a_trickle_is_cut_off_once_its_waits_add_up() {
    // The client takes some of its answer every few milliseconds, so no wait for it lasts
    // anywhere near the send timeout (3 s), but at 2 MB/s against a minimum of 16 MB/s:
    // its waits add up to the timeout after ~3.5 s, long before its 30 MB would all come
    // (~15 s), and the server closes the connection. (With no minimum rate, the same client
    // gets the whole answer.)
    let mut http = voice_api::HttpConfig::default();
    http.connections.send_timeout = Duration::from_secs(3);
    http.connections.min_send_rate = 16 * 1024 * 1024;
    let app = TestApp::builder().http_config(http).spawn().await;
    big_sessions(&app).await;
    let mut res = unread_list(&app, "?all=true&simplifiedPaging=true").await;
    assert_eq!(res.status(), 200);
    let length = res.content_length().expect("a Content-Length");
    assert!(length > 30_000_000, "{length}");

    let rate = 2.0 * 1024.0 * 1024.0;
    let started = tokio::time::Instant::now();
    let (mut got, mut longest_pause) = (0u64, Duration::ZERO);
    let cut = loop {
        let before = tokio::time::Instant::now();
        let chunk = res.chunk().await;
        longest_pause = longest_pause.max(before.elapsed());
        match chunk {
            Ok(Some(bytes)) => got += bytes.len() as u64,
            Ok(None) => break false,
            Err(_) => break true,
        }
        tokio::time::sleep_until(started + Duration::from_secs_f64(got as f64 / rate)).await;
    };
    let took = started.elapsed();
    assert!(
        cut && got < length,
        "a trickle got {got} of {length} bytes in {took:?}"
    );
    assert!(
        took >= Duration::from_secs(3),
        "cut off after {took:?}, before its waits could add up to the send timeout"
    );
    // What the server waited for at a stretch, as the client saw it: well inside the send
    // timeout, which alone would never have closed this connection.
    assert!(longest_pause < Duration::from_secs(2), "{longest_pause:?}");
}

#[tokio::test]
async fn long_lists_nobody_reads_hold_their_rows_until_the_send_timeout_closes_them() {
    // Pages of 160 ask for 161 rows and keep those that come back: two pages of the 150
    // sessions keep 300 of the 322, and a third page (161) must wait.
    let mut http = voice_api::HttpConfig {
        list_rows_in_flight: 322,
        list_rows_per_user: 322,
        ..Default::default()
    };
    // Long enough that both unread answers are still held when the third page asks, however
    // slowly a loaded machine writes them.
    http.connections.send_timeout = Duration::from_secs(10);
    let app = TestApp::builder().http_config(http).spawn().await;
    big_sessions(&app).await;
    let page = "?countPerPage=160&simplifiedPaging=true";
    let held = [unread_list(&app, page).await, unread_list(&app, page).await];
    assert!(held.iter().all(|r| r.status() == 200));

    // A page of 160 that finds one session (answered in milliseconds when it may start)
    // waits while the two are held; a short page needs no permit and is answered meanwhile.
    let one = format!("?specificIds={}&countPerPage=160", id(1000));
    let waited = tokio::time::timeout(Duration::from_secs(2), list(&app, &AGENT, &one)).await;
    assert!(waited.is_err(), "a page started while the rows were held");
    let short = list(&app, &AGENT, "?countPerPage=5").await;
    assert_eq!(short.status, 200, "{}", short.text);

    // The send timeout closes the connections that took nothing for ten seconds, and
    // their rows are free again: a page of 300 (301 asked, which only both give back) is
    // answered, within a generous bound.
    let both = format!("?specificIds={}&countPerPage=300", id(1000));
    let started = std::time::Instant::now();
    loop {
        let res = tokio::time::timeout(Duration::from_secs(2), list(&app, &AGENT, &both)).await;
        if let Ok(res) = res {
            assert_eq!(res.status, 200, "{}", res.text);
            assert_eq!(res.json()["items"].as_array().map(Vec::len), Some(1));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(45),
            "the held rows were never freed"
        );
    }
    for res in held {
        assert!(res.bytes().await.is_err(), "the unread answer was cut off");
    }
}

#[tokio::test]
async fn one_users_unread_lists_hold_only_their_share_of_the_rows() {
    // The server's budget is twice a user's share. AGENT's two unread pages of 160 keep 300
    // of AGENT's 322, so AGENT's next long page waits; another user's is answered at once
    // from the 344 left, and AGENT's goes on as soon as the unread answers are given up.
    let http = voice_api::HttpConfig {
        list_rows_in_flight: 644,
        list_rows_per_user: 322,
        ..Default::default()
    };
    let app = TestApp::builder().http_config(http).spawn().await;
    big_sessions(&app).await;
    add_user(app.pool(), &ADA).await;
    let page = "?countPerPage=160&simplifiedPaging=true";
    let held = [unread_list(&app, page).await, unread_list(&app, page).await];
    assert!(held.iter().all(|r| r.status() == 200));

    let one = format!("?specificIds={}&countPerPage=160", id(1000));
    let agent = tokio::spawn({
        let url = app.url(&format!("/sessions{one}"));
        async move {
            let res = reqwest::Client::new()
                .get(url)
                .basic_auth(AGENT.email, Some(AGENT.password))
                .send()
                .await
                .unwrap();
            (res.status(), res.text().await.unwrap())
        }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !agent.is_finished(),
        "AGENT's third long page did not wait for AGENT's rows"
    );

    let ada = tokio::time::timeout(Duration::from_secs(10), list(&app, &ADA, &one))
        .await
        .expect("another user's long page waited for AGENT's");
    assert_eq!(ada.status, 200, "{}", ada.text);
    assert_eq!(ada.json()["items"].as_array().map(Vec::len), Some(1));
    assert!(!agent.is_finished(), "AGENT's page went past AGENT's share");

    // Closing the unread connections gives their rows back.
    drop(held);
    let (status, text) = tokio::time::timeout(Duration::from_secs(20), agent)
        .await
        .expect("AGENT's page never started after the unread answers were given up")
        .unwrap();
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));
}
