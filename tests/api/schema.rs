//! The stored form follows the contract: a member added to SessionInfo without its migration
//! (or a column without its member) fails here, not in production; so does a list filter that no
//! longer spells the expression its index holds.

use crate::helpers::TestDb;
use crate::helpers::internals::log_filter_expression;
use voice_api::contract::sessions::SessionInfo;
use voice_api::contract::{Dto, WireType};

#[tokio::test]
async fn the_sessions_table_has_one_column_per_session_info_member_of_its_wire_type() {
    let db = TestDb::new().await;
    // By name: a column added by a later migration comes last in the table, wherever its
    // member is declared.
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_name = 'sessions' ORDER BY column_name",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut expected: Vec<(String, String)> = SessionInfo::TYPE
        .slots()
        .iter()
        .map(|slot| {
            let ty = match slot.member.ty {
                WireType::Bool => "boolean",
                WireType::Text | WireType::Enum(_) => "text",
                WireType::Int => "integer",
                WireType::List(_) | WireType::StringMap | WireType::Object(_) => "json",
            };
            (slot.member.field.to_string(), ty.to_string())
        })
        // Not a member: the creation time as a timestamp, for ListSessions' range and order.
        .chain([(
            "created_at".to_string(),
            "timestamp with time zone".to_string(),
        )])
        // Not a member either: the version every write bumps (the ETag).
        .chain([("version".to_string(), "bigint".to_string())])
        .collect();
    expected.sort();
    assert_eq!(columns, expected);
}

/// ListSessions' log filter can read the trigram index of migration 0006 only while it spells
/// the expression that index holds. Checked on the plan, not on a timing: with sequential and
/// plain index scans turned off, that index is the one way left, and the planner takes it
/// only when the two expressions are the same.
#[tokio::test]
async fn the_log_filter_is_the_expression_its_trigram_index_holds() {
    let db = TestDb::new().await;
    let mut conn = db.pool.acquire().await.unwrap();
    for setting in ["SET enable_seqscan = off", "SET enable_indexscan = off"] {
        sqlx::query(setting).execute(&mut *conn).await.unwrap();
    }
    let sql = format!(
        "EXPLAIN SELECT 1 FROM sessions s WHERE {} ILIKE $1",
        log_filter_expression()
    );
    let plan: Vec<String> = sqlx::query_scalar(&sql)
        .bind("%refund%")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    assert!(
        plan.iter()
            .any(|line| line.contains("Bitmap Index Scan on sessions_text_trgm")),
        "{plan:#?}"
    );
}
