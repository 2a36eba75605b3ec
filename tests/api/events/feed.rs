//! The feed's rules, read off the wire.

use super::*;
use serde_json::json;

#[tokio::test]
async fn a_patch_on_one_instance_reaches_a_subscriber_of_another_as_the_whole_session() {
    let (_db, a, b, users) = two_instances(feed_config()).await;
    let mut s = Stream::open(stream_call(&a, None).signed_in_as(&ADA)).await;
    let connect = s.next().await;
    assert_eq!(connect.selector, "cmd.onConnect");
    let c = &connect.body;
    let id = c["id"].as_str().unwrap().to_string();
    let base = &a.base_url;
    assert_eq!(
        c,
        &json!({
            "id": id,
            "userId": users.ada,
            "userName": ADA.email,
            "displayName": "Ada Lovelace",
            "isAuthenticated": "true",
            "channels": ACCOUNT,
            "createdAt": c["createdAt"],
            "heartbeatUrl": format!("{base}/event-heartbeat?id={id}"),
            "unRegisterUrl": format!("{base}/event-unregister?id={id}"),
            "updateSubscriberUrl": format!("{base}/event-subscribers/{id}"),
            "heartbeatIntervalMs": "300",
            "idleTimeoutMs": "30000",
        })
    );
    let join = s.next_of("cmd.onJoin").await;
    assert_eq!(join.channel.as_deref(), Some(ACCOUNT));
    assert_eq!(join.body["userId"], json!(users.ada));
    assert_eq!(join.body["createdAt"], c["createdAt"]);

    let answer = patch_as_ada(&b, "from b").await;
    let changed = s.next_of("cmd.SessionChanged").await;
    assert_eq!(changed.channel.as_deref(), Some(ACCOUNT));
    assert_eq!(changed.body, answer);
    assert!(changed.id.unwrap() > join.id.unwrap());
}

#[tokio::test]
async fn only_authenticated_users_subscribe_and_only_to_accounts_they_act_in() {
    let (_db, a, _b, _users) = two_instances(feed_config()).await;
    let res = stream_call(&a, None).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["responseStatus"]["errorCode"], "Unauthorized");
    let res = stream_call(&a, Some("x")).basic(ADA.email, "wrong").await;
    assert_eq!(res.status, 401);

    for (user, channels) in [
        (&GRACE, ACCOUNT.to_string()),
        (&ADA, OTHER_ACCOUNT.to_string()),
        (&ADA, format!("{ACCOUNT},{OTHER_ACCOUNT}")),
    ] {
        let res = stream_call(&a, Some(&channels)).signed_in_as(user).await;
        assert_eq!(
            res.status, 403,
            "{} on {channels}: {}",
            user.email, res.text
        );
        let status = &res.json()["responseStatus"];
        assert_eq!(status["errorCode"], "Forbidden");
        assert!(
            status["message"].as_str().unwrap().contains(OTHER_ACCOUNT)
                || status["message"].as_str().unwrap().contains(ACCOUNT),
            "{status}"
        );
    }
    let res = stream_call(&a, Some("a%20b")).signed_in_as(&ADA).await;
    assert_eq!(res.status, 400, "{}", res.text);
    // An administrator may watch any account, and `*` is every account.
    let (_s, c) = subscribe(&a, &ADMIN, Some(OTHER_ACCOUNT)).await;
    assert_eq!(c.body["channels"], json!(OTHER_ACCOUNT));
    let (_s, c) = subscribe(&a, &ADMIN, Some("*")).await;
    assert_eq!(c.body["channels"], json!("*"));
    // A user's `*` (or no channel) is each of their accounts.
    let (_s, c) = subscribe(&a, &GRACE, Some("*")).await;
    assert_eq!(c.body["channels"], json!(OTHER_ACCOUNT));
}

#[tokio::test]
async fn no_event_of_another_account_reaches_a_subscriber() {
    let (_db, a, b, _users) = two_instances(feed_config()).await;
    let (mut ada, _) = subscribe(&a, &ADA, None).await;
    let (mut grace, _) = subscribe(&b, &GRACE, None).await;
    let (mut admin, _) = subscribe(&a, &ADMIN, Some("*")).await;

    let foreign = b
        .patch_session(FOREIGN_SESSION, &json!({"consoleData": "grace's"}))
        .signed_in_as(&GRACE)
        .await;
    assert_eq!(foreign.status, 200);
    let own = patch_as_ada(&b, "ada's").await;

    let quiet = Duration::from_millis(800);
    let seen = ada.all_of("cmd.SessionChanged", quiet).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].body, own);
    let seen = grace.all_of("cmd.SessionChanged", quiet).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].body, foreign.json());
    assert_eq!(seen[0].channel.as_deref(), Some(OTHER_ACCOUNT));
    let seen = admin.all_of("cmd.SessionChanged", quiet).await;
    let ids: Vec<&Value> = seen.iter().map(|f| &f.body["id"]).collect();
    assert_eq!(ids, [&json!(FOREIGN_SESSION), &json!(SESSION)]);

    // Nor do the subscribers of another account show in its list.
    let listed = a.get("/event-subscribers").signed_in_as(&GRACE).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let listed = listed.json();
    let names: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["userName"])
        .collect();
    assert_eq!(names, [&json!(GRACE.email)], "{listed}");
    let res = a
        .get(&format!("/api/GetEventSubscribers?channels={ACCOUNT}"))
        .signed_in_as(&GRACE)
        .await;
    assert_eq!(res.status, 403, "{}", res.text);
    let res = a.get("/event-subscribers").await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn a_client_back_with_last_event_id_gets_what_it_missed_in_order_once_then_the_live_events() {
    let (_db, a, b, _users) = two_instances(feed_config()).await;
    let (mut s, _) = subscribe(&a, &ADA, None).await;
    patch_as_ada(&b, "seen").await;
    let last = s.next_of("cmd.SessionChanged").await.id.unwrap();
    drop(s);

    let mut missed = Vec::new();
    for i in 0..3 {
        missed.push(patch_as_ada(&b, &format!("missed {i}")).await);
    }
    // Back on the other instance, as EventSource comes back: with the Last-Event-ID header.
    let call = stream_call(&b, None)
        .signed_in_as(&ADA)
        .header("Last-Event-ID", &last.to_string());
    let mut s = Stream::open(call).await;
    let connect = s.next().await;
    assert_eq!(connect.selector, "cmd.onConnect");
    let mut replayed = Vec::new();
    for _ in 0..3 {
        replayed.push(s.next_of("cmd.SessionChanged").await);
    }
    let live = patch_as_ada(&a, "live").await;
    let after = s
        .all_of("cmd.SessionChanged", Duration::from_millis(800))
        .await;
    let bodies: Vec<&Value> = replayed.iter().chain(&after).map(|f| &f.body).collect();
    let expected: Vec<&Value> = missed.iter().chain([&live]).collect();
    assert_eq!(bodies, expected);
    let ids: Vec<i64> = replayed
        .iter()
        .chain(&after)
        .map(|f| f.id.unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > last,
        "{ids:?}"
    );

    // `?lastEventId=` does the same for a client that cannot set the header.
    let call = a
        .get(&format!("/event-stream?lastEventId={last}"))
        .signed_in_as(&ADA);
    let mut s = Stream::open(call).await;
    let again = s
        .all_of("cmd.SessionChanged", Duration::from_millis(500))
        .await;
    let bodies: Vec<&Value> = again.iter().map(|f| &f.body).collect();
    assert_eq!(bodies, expected);
}

#[tokio::test]
async fn a_position_the_log_no_longer_holds_or_never_held_is_announced_as_a_reset() {
    let (db, a, b, _users) = two_instances(feed_config()).await;
    let (mut s, _) = subscribe(&a, &ADA, None).await;
    patch_as_ada(&b, "one").await;
    let last = s.next_of("cmd.SessionChanged").await.id.unwrap();
    drop(s);
    patch_as_ada(&b, "two").await;
    // The retention window passed over both: what came after `last` is gone.
    sqlx::query("DELETE FROM event_log")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE event_log_horizon SET pruned_through = (SELECT last_value FROM event_log_id_seq)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    for (given, reason) in [
        (last.to_string(), "older than the events this feed keeps"),
        ("not-a-number".to_string(), "not a position of this feed"),
        (
            (last + 1_000_000).to_string(),
            "not a position of this feed",
        ),
    ] {
        let call = stream_call(&a, None)
            .signed_in_as(&ADA)
            .header("Last-Event-ID", &given);
        let mut s = Stream::open(call).await;
        let connect = s.next().await;
        let reset = s.next().await;
        assert_eq!(reset.selector, "cmd.onReset", "{reset:?}");
        assert_eq!(reset.body["reason"], json!(reason), "{given}");
        assert_eq!(reset.id, connect.id);
        // After a reset the stream goes on live.
        let answer = patch_as_ada(&b, &format!("after {given}")).await;
        assert_eq!(s.next_of("cmd.SessionChanged").await.body, answer);
    }
}

#[tokio::test]
async fn heartbeats_on_another_instance_keep_a_subscription_and_silence_expires_it() {
    let (_db, a, b, users) = two_instances(expiring_config()).await;
    let (mut kept, connect) = subscribe(&a, &ADA, None).await;
    let id = connect.body["id"].as_str().unwrap().to_string();
    let (mut quiet, quiet_connect) = subscribe(&a, &ADMIN, Some(ACCOUNT)).await;
    let quiet_id = quiet_connect.body["id"].as_str().unwrap().to_string();

    // Heartbeats to B for three idle timeouts; A's stream answers each one.
    let mut beats = 0;
    let mut others = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_millis(3600);
    while tokio::time::Instant::now() < until {
        let res = b.post(&format!("/event-heartbeat?id={id}")).await;
        assert_eq!(res.status, 200, "{}", res.text);
        let beat = loop {
            let f = kept.next().await;
            if f.selector == "cmd.onHeartbeat" {
                break f;
            }
            others.push(f);
        };
        assert_eq!(beat.body["userId"], json!(users.ada));
        assert_eq!(beat.channel, None);
        beats += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(beats >= 8, "{beats}");
    // The silent one expired: its stream ended and the channel was told.
    assert!(quiet.ends_within(Duration::from_secs(1)).await);
    let leaves: Vec<&Frame> = others
        .iter()
        .filter(|f| f.selector == "cmd.onLeave")
        .collect();
    assert_eq!(leaves.len(), 1, "{others:?}");
    let leave = leaves[0];
    assert_eq!(leave.channel.as_deref(), Some(ACCOUNT));
    assert_eq!(leave.body["userId"], json!(users.admin));
    let res = b.post(&format!("/event-heartbeat?id={quiet_id}")).await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.json()["responseStatus"]["message"],
        json!(format!("Subscription '{quiet_id}' does not exist"))
    );
    // The kept one still streams.
    let answer = patch_as_ada(&b, "still here").await;
    assert_eq!(kept.next_of("cmd.SessionChanged").await.body, answer);
}

#[tokio::test]
async fn unregistering_on_another_instance_ends_the_stream_and_tells_the_channel() {
    let (_db, a, b, users) = two_instances(feed_config()).await;
    let (mut watcher, _) = subscribe(&a, &ADMIN, Some(ACCOUNT)).await;
    let (mut s, connect) = subscribe(&a, &ADA, None).await;
    let id = connect.body["id"].as_str().unwrap();
    let res = b.post(&format!("/event-unregister?id={id}")).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json()["userId"], json!(users.ada));
    assert!(s.ends_within(Duration::from_secs(2)).await);
    let leave = watcher.next_of("cmd.onLeave").await;
    assert_eq!(leave.body["userId"], json!(users.ada));
    let res = b.post(&format!("/event-unregister?id={id}")).await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json()["responseStatus"]["errorCode"], "NotFound");
}

#[tokio::test]
async fn update_event_subscriber_leaves_and_joins_only_channels_its_user_may_join() {
    let (_db, a, b, _users) = two_instances(feed_config()).await;
    let (mut s, connect) = subscribe(&a, &ADA, None).await;
    let id = connect.body["id"].as_str().unwrap().to_string();

    // Leave the account's channel, on the other instance: a patch no longer arrives.
    let res = b
        .post(&format!("/event-subscribers/{id}"))
        .json(&json!({"unsubscribeChannels": [ACCOUNT]}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.json(), json!({}));
    patch_as_ada(&b, "unseen").await;
    let seen = s
        .all_of("cmd.SessionChanged", Duration::from_millis(600))
        .await;
    assert!(seen.is_empty(), "{seen:?}");
    let listed = a.get("/event-subscribers").signed_in_as(&ADA).await.json();
    assert_eq!(listed, json!([]), "no longer on the account's channel");

    // Another account's channel is refused; her own comes back, by the predefined route.
    let res = b
        .post("/api/UpdateEventSubscriber")
        .json(&json!({"id": id, "subscribeChannels": [OTHER_ACCOUNT]}))
        .await;
    assert_eq!(res.status, 403, "{}", res.text);
    let res = a
        .post("/api/UpdateEventSubscriber")
        .json(&json!({"id": id, "subscribeChannels": [ACCOUNT]}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    // As in ServiceStack, the channels it is in now are told (onUpdate), itself included.
    let update = s.next_of("cmd.onUpdate").await;
    assert_eq!(update.channel.as_deref(), Some(ACCOUNT));
    assert_eq!(update.body["channels"], json!(ACCOUNT));
    let answer = patch_as_ada(&b, "seen again").await;
    assert_eq!(s.next_of("cmd.SessionChanged").await.body, answer);

    let res = a
        .post("/event-subscribers/0123456789abcdef0123456789abcdef")
        .json(&json!({"subscribeChannels": [ACCOUNT]}))
        .await;
    assert_eq!(res.status, 404);
}

#[tokio::test]
async fn subscriptions_are_limited_per_user_on_all_instances() {
    let mut config = feed_config();
    config.events.max_per_user = 2;
    let (_db, a, b, _users) = two_instances(config).await;
    let (_one, _) = subscribe(&a, &ADA, None).await;
    let (two, _) = subscribe(&b, &ADA, None).await;
    let res = stream_call(&a, None).signed_in_as(&ADA).await;
    assert_eq!(res.status, 429, "{}", res.text);
    assert_eq!(
        res.json()["responseStatus"]["errorCode"],
        "TooManySubscriptions"
    );
    // Another user is not held back; and a closed stream gives its place back.
    let (_grace, _) = subscribe(&a, &GRACE, None).await;
    drop(two);
    let mut again = None;
    for _ in 0..50 {
        let res = stream_call(&a, None)
            .signed_in_as(&ADA)
            .into_request()
            .send()
            .await
            .unwrap();
        if res.status() == 200 {
            again = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        again.is_some(),
        "the closed stream's subscription was not removed"
    );
}

#[tokio::test]
async fn shutting_down_ends_the_streams_cleanly() {
    let (_db, a, _b, _users) = two_instances(feed_config()).await;
    let (mut s, _) = subscribe(&a, &ADA, None).await;
    let started = std::time::Instant::now();
    a.stop().await;
    assert!(s.ends_within(Duration::from_secs(2)).await);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn every_committed_change_is_announced_and_a_rolled_back_one_is_not() {
    let (db, a, _b, _users) = two_instances(feed_config()).await;
    let (mut s, _) = subscribe(&a, &ADA, None).await;
    // Written outside the server: the trigger logs whatever commits.
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("UPDATE sessions SET console_data = 'rolled back' WHERE id = $1")
        .bind(SESSION)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    sqlx::query("UPDATE sessions SET console_data = 'committed' WHERE id = $1")
        .bind(SESSION)
        .execute(&db.pool)
        .await
        .unwrap();
    import(
        &db.pool,
        &[simple_session("5f0c1a2b3c4d5e6f7a8b9c0a", ACCOUNT)],
    )
    .await;
    let seen = s
        .all_of("cmd.SessionChanged", Duration::from_millis(800))
        .await;
    let got: Vec<(&Value, &Value)> = seen
        .iter()
        .map(|f| (&f.body["id"], &f.body["consoleData"]))
        .collect();
    assert_eq!(
        got,
        [
            (&json!(SESSION), &json!("committed")),
            (&json!("5f0c1a2b3c4d5e6f7a8b9c0a"), &json!(ORIG)),
        ]
    );
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(SESSION)
        .execute(&db.pool)
        .await
        .unwrap();
    let deleted = s.next_of("cmd.SessionDeleted").await;
    assert_eq!(deleted.body["id"], json!(SESSION));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_feed_recovers_by_itself_after_postgresql_restarts() {
    let pg = crate::faults::OwnPostgres::init();
    pg.start();
    let url = pg.url("voice_api");
    let pool =
        crate::helpers::app::open_pool(&url, &voice_api::storage::PoolSettings::default()).await;
    seed(&pool).await;
    // Long enough an idle timeout that the subscription outlives the restart without
    // heartbeats.
    let mut config = feed_config();
    config.events.idle_timeout = Duration::from_secs(120);
    let a = TestApp::builder()
        .on_pool(pool.clone(), &url)
        .http_config(config)
        .spawn()
        .await;
    let (mut s, _) = subscribe(&a, &ADA, None).await;
    let answer = patch_as_ada(&a, "before").await;
    assert_eq!(s.next_of("cmd.SessionChanged").await.body, answer);

    pg.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    pg.start();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let answer = loop {
        let res = a
            .patch_session(SESSION, &json!({"consoleData": "after"}))
            .signed_in_as(&ADA)
            .await;
        if res.status == 200 {
            break res.json();
        }
        assert_eq!(res.status, 503, "{}", res.text);
        assert!(
            tokio::time::Instant::now() < deadline,
            "PostgreSQL did not come back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The same stream, still open: the listener reconnected by itself and read the log.
    let changed = loop {
        match s.read(Duration::from_secs(15)).await {
            Read::Frame(f) if f.selector == "cmd.SessionChanged" => break f,
            Read::Frame(_) => {}
            other => panic!("no event after the restart: {other:?}"),
        }
    };
    assert_eq!(changed.body, answer);
}

#[tokio::test]
async fn a_subscriber_too_slow_to_keep_up_is_dropped_and_misses_nothing_when_it_comes_back() {
    let mut config = feed_config();
    config.events.queue = 2;
    let (_db, a, b, _users) = two_instances(config).await;
    let (mut slow, connect) = subscribe(&a, &ADA, None).await;
    // 150 events of 60 KB: more than the socket buffers and the queue of 2 hold.
    let big = "x".repeat(60_000);
    let mut answers = Vec::new();
    for i in 0..150 {
        answers.push(patch_as_ada(&b, &format!("{i} {big}")).await);
    }
    let mut got = Vec::new();
    loop {
        match slow.read(Duration::from_secs(5)).await {
            Read::Frame(f) if f.selector == "cmd.SessionChanged" => got.push(f),
            Read::Frame(_) => {}
            Read::Ended => break,
            Read::TimedOut => panic!("the slow subscriber was not dropped ({} read)", got.len()),
        }
    }
    assert!(got.len() < answers.len(), "{}", got.len());
    let bodies: Vec<&Value> = got.iter().map(|f| &f.body).collect();
    assert_eq!(bodies, answers[..got.len()].iter().collect::<Vec<_>>());
    // Back, where it was: the rest, in order.
    let last = got.last().unwrap_or(&connect).id.unwrap();
    let call = stream_call(&b, None)
        .signed_in_as(&ADA)
        .header("Last-Event-ID", &last.to_string());
    let mut back = Stream::open(call).await;
    let mut rest = Vec::new();
    while rest.len() < answers.len() - got.len() {
        rest.push(back.next_of("cmd.SessionChanged").await.body);
    }
    assert_eq!(rest, answers[got.len()..]);
}

#[tokio::test]
async fn each_patch_of_concurrent_batches_is_announced_once_and_in_order_per_session() {
    let (db, a, b, _users) = two_instances(feed_config()).await;
    let ids: Vec<String> = (0..8)
        .map(|i| format!("5f0c1a2b3c4d5e6f7a8b9d{i:02}"))
        .collect();
    let docs: Vec<Value> = ids.iter().map(|id| simple_session(id, ACCOUNT)).collect();
    import(&db.pool, &docs).await;
    let (mut s, _) = subscribe(&a, &ADA, None).await;
    let tasks: Vec<_> = (0..24)
        .map(|n| {
            let b = b.remote();
            let id = ids[n % ids.len()].clone();
            tokio::spawn(async move {
                let res = b
                    .patch_session(&id, &json!({"consoleData": format!("patch {n}")}))
                    .signed_in_as(&ADA)
                    .await;
                assert_eq!(res.status, 200, "{}", res.text);
                let version: i64 = res
                    .header("etag")
                    .unwrap()
                    .trim_matches('"')
                    .parse()
                    .unwrap();
                (version, res.json())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let mut events = Vec::new();
    while events.len() < answers.len() {
        events.push(s.next_of("cmd.SessionChanged").await.body);
    }
    assert!(
        s.all_of("cmd.SessionChanged", Duration::from_millis(500))
            .await
            .is_empty()
    );
    for id in &ids {
        let mut expected: Vec<&(i64, Value)> = answers
            .iter()
            .filter(|(_, v)| v["id"] == json!(id))
            .collect();
        expected.sort_by_key(|(version, _)| *version);
        let expected: Vec<&Value> = expected.iter().map(|(_, v)| v).collect();
        let got: Vec<&Value> = events.iter().filter(|v| v["id"] == json!(id)).collect();
        // Each session's events come in the order its patches committed.
        assert_eq!(got, expected, "{id}");
    }
}

#[tokio::test]
async fn a_stream_is_a_request_in_progress_not_an_idle_connection_to_close_or_evict() {
    let mut config = feed_config();
    config.connections.keepalive_idle = Duration::from_millis(300);
    config.connections.header_read_timeout = Duration::from_millis(300);
    config.connections.max_connections = 2;
    let (_db, a, b, _users) = two_instances(config).await;
    let (mut s, _) = subscribe(&a, &ADA, None).await;
    // Past the idle timeout, and with the cap reached by other clients coming and going, the
    // stream stays open.
    for _ in 0..4 {
        // A client of its own each time: a new connection, which the cap makes room for.
        let res = reqwest::Client::new()
            .get(a.url("/health/live"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let answer = patch_as_ada(&b, "later").await;
    assert_eq!(s.next_of("cmd.SessionChanged").await.body, answer);
}

#[tokio::test]
async fn an_instance_serves_at_most_its_streams_and_an_api_key_subscribes_too() {
    let mut config = feed_config();
    config.events.max_streams = 2;
    let (db, a, b, _users) = two_instances(config).await;
    let (_one, _) = subscribe(&a, &ADA, None).await;
    let (_two, _) = subscribe(&a, &GRACE, None).await;
    let res = stream_call(&a, None).signed_in_as(&ADA).await;
    assert_eq!(res.status, 503, "{}", res.text);
    assert_eq!(
        res.json()["responseStatus"]["errorCode"],
        "ServiceUnavailable"
    );
    // The other instance has room; an API key is a credential like any other.
    let (key, _) = crate::helpers::binary::add_api_key(&db.url, ADA.email, "feed");
    let mut s = Stream::open(stream_call(&b, None).bearer(&key)).await;
    assert_eq!(s.next().await.body["userName"], json!(ADA.email));
}

#[tokio::test]
async fn events_older_than_the_retention_window_are_pruned_and_a_client_from_then_is_reset() {
    let mut config = feed_config();
    config.events.retention = Duration::from_millis(500);
    let (db, a, b, _users) = two_instances(config).await;
    let (mut s, _) = subscribe(&a, &ADA, None).await;
    patch_as_ada(&b, "old").await;
    let old = s.next_of("cmd.SessionChanged").await.id.unwrap();
    drop(s);
    let mut left = i64::MAX;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = sqlx::query_scalar("SELECT count(*) FROM event_log WHERE id <= $1")
            .bind(old)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        if left == 0 {
            break;
        }
    }
    assert_eq!(left, 0, "the old events were not pruned");
    let call = stream_call(&a, None)
        .signed_in_as(&ADA)
        .header("Last-Event-ID", &(old - 1).to_string());
    let mut s = Stream::open(call).await;
    s.next().await;
    let reset = s.next().await;
    assert_eq!(reset.selector, "cmd.onReset");
    assert_eq!(
        reset.body["reason"],
        json!("older than the events this feed keeps")
    );
}

#[tokio::test]
async fn a_subscriber_after_a_time_without_any_still_gets_the_events() {
    let (_db, a, b, _users) = two_instances(feed_config()).await;
    for round in 0..3 {
        let (mut s, _) = subscribe(&a, &ADA, None).await;
        let answer = patch_as_ada(&b, &format!("round {round}")).await;
        assert_eq!(
            s.next_of("cmd.SessionChanged").await.body,
            answer,
            "round {round}"
        );
        drop(s);
        // No stream on A now; patches go on meanwhile.
        patch_as_ada(&b, &format!("unseen {round}")).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn an_event_committed_before_a_lower_one_waits_for_it_and_a_rolled_back_one_holds_up_nothing()
{
    let (db, a, b, _users) = two_instances(feed_config()).await;
    let other = "5f0c1a2b3c4d5e6f7a8b9c0b";
    import(&db.pool, &[simple_session(other, ACCOUNT)]).await;
    let (mut s, _) = subscribe(&a, &ADA, None).await;
    for outcome in ["commit", "rollback"] {
        // A transaction takes the lower id and stays open; a patch takes the next and commits.
        let mut tx = db.pool.begin().await.unwrap();
        sqlx::query("UPDATE sessions SET console_data = $2 WHERE id = $1")
            .bind(other)
            .bind(format!("slow {outcome}"))
            .execute(&mut *tx)
            .await
            .unwrap();
        let fast = patch_as_ada(&b, &format!("fast {outcome}")).await;
        let early = s
            .all_of("cmd.SessionChanged", Duration::from_millis(400))
            .await;
        assert!(
            early.is_empty(),
            "delivered before a lower id was settled: {early:?}"
        );
        if outcome == "commit" {
            tx.commit().await.unwrap();
            let first = s.next_of("cmd.SessionChanged").await;
            assert_eq!(first.body["consoleData"], json!("slow commit"));
            let second = s.next_of("cmd.SessionChanged").await;
            assert_eq!(second.body, fast);
            assert!(first.id < second.id);
        } else {
            tx.rollback().await.unwrap();
            assert_eq!(s.next_of("cmd.SessionChanged").await.body, fast);
        }
    }
}

#[tokio::test]
async fn a_subscription_answers_only_its_streams_address_and_ends_when_its_user_leaves_the_account()
{
    // B trusts the loopback proxy, so X-Forwarded-For names the client there.
    let db = TestDb::new().await;
    let users = seed(&db.pool).await;
    let a = TestApp::builder()
        .on(&db)
        .http_config(feed_config())
        .spawn()
        .await;
    let mut trusting = feed_config();
    trusting.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let b = TestApp::builder()
        .on(&db)
        .http_config(trusting)
        .spawn()
        .await;
    let (mut s, connect) = subscribe(&a, &ADA, None).await;
    let id = connect.body["id"].as_str().unwrap();
    for path in [
        format!("/event-heartbeat?id={id}"),
        format!("/event-unregister?id={id}"),
    ] {
        let res = b.post(&path).header("X-Forwarded-For", "203.0.113.9").await;
        assert_eq!(res.status, 403, "{path}: {}", res.text);
        assert_eq!(
            res.json()["responseStatus"]["message"],
            "Invalid User Address"
        );
    }
    let res = b
        .post(&format!("/event-subscribers/{id}"))
        .header("X-Forwarded-For", "203.0.113.9")
        .json(&json!({"unsubscribeChannels": [ACCOUNT]}))
        .await;
    assert_eq!(res.status, 403, "{}", res.text);
    // Still subscribed; then Ada leaves the account: her stream ends.
    let answer = patch_as_ada(&b, "still subscribed").await;
    assert_eq!(s.next_of("cmd.SessionChanged").await.body, answer);
    sqlx::query("DELETE FROM user_accounts WHERE user_id = $1")
        .bind(&users.ada)
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(s.ends_within(Duration::from_secs(3)).await);
}

#[tokio::test]
async fn a_stream_ends_when_its_credential_does_logout_or_a_revoked_key() {
    let (db, a, b, _users) = two_instances(feed_config()).await;
    // A login session, logged out on the other instance.
    let login = a.login(&ADA, false).await;
    let mut s = Stream::open(stream_call(&a, None).with_login(&login)).await;
    assert_eq!(s.next().await.selector, "cmd.onConnect");
    let answer = patch_as_ada(&b, "while signed in").await;
    assert_eq!(s.next_of("cmd.SessionChanged").await.body, answer);
    assert_eq!(b.logout().with_login(&login).await.status, 200);
    assert!(
        s.ends_within(Duration::from_secs(3)).await,
        "logged out, still streaming"
    );
    // An API key, revoked with the CLI.
    let (key, id) = crate::helpers::binary::add_api_key(&db.url, ADA.email, "wallboard");
    let mut s = Stream::open(stream_call(&a, None).bearer(&key)).await;
    assert_eq!(s.next().await.selector, "cmd.onConnect");
    crate::helpers::binary::voice_api(&db.url, &["apikey", "revoke", &id], None).ok();
    assert!(
        s.ends_within(Duration::from_secs(3)).await,
        "revoked, still streaming"
    );
    // Basic credentials stay valid: that stream goes on.
    let (mut kept, _) = subscribe(&a, &ADA, None).await;
    assert!(!kept.ends_within(Duration::from_millis(600)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_logged_while_nobody_listens_and_a_subscriber_waits_for_an_unlogged_write() {
    let mut config = feed_config();
    config.events.retention = Duration::from_millis(300);
    let (db, a, b, _users) = two_instances(config).await;
    let (mut s, _) = subscribe(&a, &ADA, None).await;
    patch_as_ada(&b, "seen").await;
    let seen = s.next_of("cmd.SessionChanged").await.id.unwrap();
    drop(s);
    // The last subscription gone and the retention window after it over: nobody listens.
    let mut listened = true;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        listened = sqlx::query_scalar("SELECT listened_until > now() FROM event_log_horizon")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        if !listened {
            break;
        }
    }
    assert!(!listened, "the feed still counts as listened");
    let lock: i64 = sqlx::query_scalar("SELECT hashtextextended('voice_api.feed', 0)")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        lock,
        voice_api::storage::events::FEED_LOCK,
        "migration 0009's lock"
    );
    patch_as_ada(&b, "unheard").await;
    assert_eq!(
        logged_after(&db.pool, seen).await,
        0,
        "a write nobody listens to was logged"
    );
    let mut s = resume_behind_an_unlogged_write(&db.pool, &a, seen).await;
    let answer = patch_as_ada(&b, "heard again").await;
    assert_eq!(s.next_of("cmd.SessionChanged").await.body, answer);
}

#[tokio::test]
async fn a_stream_whose_lease_ran_out_ends_and_its_client_resumes_with_a_reset() {
    let (db, a, b, _users) = two_instances(feed_config()).await;
    let (mut s, _) = subscribe(&a, &ADA, None).await;
    patch_as_ada(&b, "seen").await;
    let seen = s.next_of("cmd.SessionChanged").await.id.unwrap();
    // As if housekeeping had been held up past the lease: a write goes unlogged.
    sqlx::query("UPDATE event_log_horizon SET listened_until = '-infinity'")
        .execute(&db.pool)
        .await
        .unwrap();
    patch_as_ada(&b, "unlogged").await;
    assert!(
        s.ends_within(Duration::from_secs(3)).await,
        "the stream went on after missing a write"
    );
    let call = stream_call(&a, None)
        .signed_in_as(&ADA)
        .header("Last-Event-ID", &seen.to_string());
    let mut s = Stream::open(call).await;
    assert_eq!(s.next().await.selector, "cmd.onConnect");
    let reset = s.next().await;
    assert_eq!(reset.selector, "cmd.onReset", "{reset:?}");
    assert_eq!(reset.body["lastEventId"], json!(seen.to_string()));
}

#[tokio::test]
async fn an_event_carries_text_as_stored_whatever_its_characters() {
    let (db, a, b, _users) = two_instances(feed_config()).await;
    let (mut s, _) = subscribe(&a, &ADA, None).await;
    // Quotes, backslashes, line breaks, a tab, non-ASCII and an astral-plane character:
    // PostgreSQL's row_to_json escapes them its own way, and the event must still be the
    // PATCH answer.
    let tricky = "a \"quoted\" \\path\\ on\nthree\r\nlines\twith é ✓ 𝄞 </x>&amp;";
    let answer = patch_as_ada(&b, tricky).await;
    assert_eq!(answer["consoleData"], json!(tricky));
    assert_eq!(s.next_of("cmd.SessionChanged").await.body, answer);
    // A control character (which binding refuses, but SQL may store) arrives as stored.
    sqlx::query("UPDATE sessions SET console_data = $2 WHERE id = $1")
        .bind(SESSION)
        .bind("bell \u{7} and \u{1}")
        .execute(&db.pool)
        .await
        .unwrap();
    let event = s.next_of("cmd.SessionChanged").await;
    assert_eq!(event.body["consoleData"], json!("bell \u{7} and \u{1}"));
}

/// DataContract XML of a `List<Dictionary<string,string>>`, written here by hand from the
/// JSON list to compare the whole body with. The keys come in the JSON value's order, which
/// is sorted, as the server stores a Meta.
fn subscribers_xml(listed: &Value) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><ArrayOfArrayOfKeyValueOfstringstring \
         xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\">",
    );
    for meta in listed.as_array().unwrap() {
        xml.push_str("<ArrayOfKeyValueOfstringstring>");
        for (k, v) in meta.as_object().unwrap() {
            let v = v.as_str().unwrap();
            xml.push_str(&format!(
                "<KeyValueOfstringstring><Key>{}</Key><Value>{}</Value></KeyValueOfstringstring>",
                esc(k),
                esc(v)
            ));
        }
        xml.push_str("</ArrayOfKeyValueOfstringstring>");
    }
    xml.push_str("</ArrayOfArrayOfKeyValueOfstringstring>");
    xml
}

#[tokio::test]
async fn get_event_subscribers_answers_in_the_negotiated_format() {
    let (_db, a, b, _users) = two_instances(feed_config()).await;
    // Nobody yet: an empty list in either format.
    let res = b.get("/event-subscribers").signed_in_as(&ADA).await;
    assert_eq!(res.json(), json!([]));
    let res = b
        .get("/event-subscribers")
        .accept("application/xml")
        .signed_in_as(&ADA)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        res.text,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><ArrayOfArrayOfKeyValueOfstringstring \
         xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\" />"
    );

    let (_s, connect) = subscribe(&a, &ADA, None).await;
    let listed = b.get("/event-subscribers").signed_in_as(&ADA).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(
        listed.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let listed = listed.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["userId"], connect.body["userId"]);
    let expected = subscribers_xml(&listed);
    assert!(
        expected.contains("<Key>userName</Key><Value>"),
        "{expected}"
    );

    for call in [
        b.get("/event-subscribers").accept("application/xml"),
        b.get(&format!(
            "/api/GetEventSubscribers?channels={ACCOUNT}&format=xml"
        )),
    ] {
        let res = call.signed_in_as(&ADA).await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(res.header("content-type"), Some("application/xml"));
        assert_eq!(res.text, expected);
    }
    // A refusal is in the negotiated format too.
    let res = b
        .get(&format!(
            "/api/GetEventSubscribers?channels={OTHER_ACCOUNT}&format=xml"
        ))
        .signed_in_as(&ADA)
        .await;
    assert_eq!(res.status, 403, "{}", res.text);
    assert!(
        res.text.contains("<ErrorCode>Forbidden</ErrorCode>"),
        "{}",
        res.text
    );
}
