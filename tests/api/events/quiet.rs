//! The quiet feed (migration 0010): once nobody listens, one instance holds the quiet lock and
//! writes decide not to log from two lock calls; a subscriber on any instance ends it, after
//! the writes that did not log.

use super::*;
use sqlx::{Connection, PgPool};
use voice_api::storage::events::QUIET_LOCK;

/// Sessions holding this database's quiet lock (an advisory lock of a bigint key is listed as
/// its high and low halves, `objsubid` 1; each database has its own).
async fn quiet_holders(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND ((classid::bigint << 32) | objid::bigint) = $1",
    )
    .bind(QUIET_LOCK)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn once_nobody_listens_one_instance_holds_the_quiet_lock_until_a_subscriber_comes() {
    let mut config = feed_config();
    config.events.retention = Duration::from_millis(300);
    let (db, a, b, _users) = two_instances(config).await;
    let key: i64 = sqlx::query_scalar("SELECT hashtextextended('voice_api.feed.quiet', 0)")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(key, QUIET_LOCK, "migration 0010's lock");

    // Listened while a stream is open: no quiet lock, and every write is logged.
    let (mut s, _) = subscribe(&a, &ADA, None).await;
    let answer = patch_as_ada(&b, "seen").await;
    let seen = s.next_of("cmd.SessionChanged").await;
    assert_eq!(seen.body, answer);
    let seen = seen.id.unwrap();
    assert_eq!(
        quiet_holders(&db.pool).await,
        0,
        "quiet while a stream was open"
    );
    drop(s);

    // The stream gone and the lease over: one of the two instances takes the quiet lock.
    let mut holders = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        holders = quiet_holders(&db.pool).await;
        if holders > 0 {
            break;
        }
    }
    assert_eq!(holders, 1, "not exactly one instance holds the quiet lock");
    patch_as_ada(&a, "unheard on a").await;
    patch_as_ada(&b, "unheard on b").await;
    assert_eq!(
        logged_after(&db.pool, seen).await,
        0,
        "a quiet feed logged a write"
    );

    // Whichever instance holds the lock, a subscription on `b` asks both to let it go, and
    // then waits for a write that did not log.
    let mut s = resume_behind_an_unlogged_write(&db.pool, &b, seen).await;
    assert_eq!(
        logged_after(&db.pool, seen).await,
        0,
        "the write in progress was logged"
    );

    // Listened again: nobody holds the quiet lock, and writes on either instance are logged.
    assert_eq!(
        quiet_holders(&db.pool).await,
        0,
        "the quiet lock outlived a subscription"
    );
    for (app, console) in [(&a, "heard on a"), (&b, "heard on b")] {
        let answer = patch_as_ada(app, console).await;
        assert_eq!(s.next_of("cmd.SessionChanged").await.body, answer);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_pruning_the_log_at_once_neither_deadlock_nor_miss_an_old_event() {
    let db = TestDb::new().await;
    sqlx::query(
        "INSERT INTO event_log (kind, channels, body, created_at)
            SELECT 'join', ARRAY['a'], '{}', now() - interval '1 hour'
            FROM generate_series(1, 4000)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    // Four instances' housekeeping at the same moment, in small batches.
    let prunes: Vec<_> = (0..4)
        .map(|_| {
            let pool = db.pool.clone();
            tokio::spawn(async move {
                let mut deleted = 0;
                loop {
                    let n = voice_api::storage::events::prune(&pool, Duration::from_secs(60), 50)
                        .await
                        .expect("a prune failed");
                    if n == 0 {
                        return deleted;
                    }
                    deleted += n;
                }
            })
        })
        .collect();
    let mut deleted = 0;
    for p in prunes {
        deleted += p.await.unwrap();
    }
    assert_eq!(deleted, 4000, "each old event deleted once");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM event_log")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let horizon: i64 = sqlx::query_scalar("SELECT pruned_through FROM event_log_horizon")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let last: i64 = sqlx::query_scalar("SELECT last_value FROM event_log_id_seq")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(horizon, last, "the horizon is past every pruned event");
}

#[tokio::test]
async fn a_quiet_lock_its_holder_does_not_let_go_is_taken_from_it_by_the_next_subscription() {
    let (db, a, _b, _users) = two_instances(feed_config()).await;
    // A holder that hears nobody (as an instance cut off from its listener would be).
    let mut deaf = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(QUIET_LOCK)
        .fetch_one(&mut deaf)
        .await
        .unwrap();
    assert!(
        held,
        "an instance held the quiet lock before anyone subscribed"
    );
    patch_as_ada(&a, "unheard").await;
    assert_eq!(
        logged_after(&db.pool, 0).await,
        0,
        "a quiet feed logged a write"
    );

    let (mut s, connect) = tokio::time::timeout(Duration::from_secs(4), subscribe(&a, &ADA, None))
        .await
        .expect("the subscription waited for a holder that never lets go");
    assert_eq!(connect.selector, "cmd.onConnect");
    assert!(
        sqlx::query("SELECT 1").execute(&mut deaf).await.is_err(),
        "the holder that did not let go is still connected"
    );
    let answer = patch_as_ada(&a, "heard").await;
    assert_eq!(s.next_of("cmd.SessionChanged").await.body, answer);
}
