//! Demo data for `voice-api serve --demo`: one account, one user and a few realistic sessions,
//! so a newcomer can PATCH something straight away. Seeding is idempotent: what exists is kept.

use crate::storage::accounts;
use sqlx::PgPool;
use std::net::SocketAddr;

pub const ACCOUNT_ID: &str = "64b7f0c2a1d3e4f5a6b7c8d9";
pub const ACCOUNT_NAME: &str = "Acme Support (demo)";
pub const EMAIL: &str = "demo@voice-api.local";
/// A demo password is printed on purpose: it only exists when `--demo` is asked for.
pub const PASSWORD: &str = "demo-password";

/// What the demo seed left in place.
pub struct Demo {
    pub session_ids: Vec<String>,
}

impl Demo {
    /// Prints the credentials and a ready-to-paste PATCH.
    pub fn print(&self, addr: SocketAddr) {
        let id = &self.session_ids[0];
        println!("demo user: {EMAIL}  password: {PASSWORD}  account: {ACCOUNT_ID}");
        println!("demo sessions: {}", self.session_ids.join(", "));
        println!("try:");
        println!(
            "  curl -s -u {EMAIL}:{PASSWORD} -X PATCH http://{addr}/sessions/{id} \
             -H 'Content-Type: application/json' \
             -d '{}'",
            PATCH.trim()
        );
    }
}

/// The PATCH body the printed example sends (a PatchSession in the API's JSON).
const PATCH: &str = include_str!("../demo/patch.json");

/// The demo sessions, as an import document (the API's own JSON form): five sessions in
/// different states — ringing in queue, connected, on hold, ended, a chat.
const SESSIONS: &str = include_str!("../demo/sessions.json");

/// Seeds the demo account, user and sessions where they are absent.
pub async fn seed(pool: &PgPool) -> anyhow::Result<Demo> {
    let sessions = crate::import::parse(SESSIONS)?;
    let session_ids: Vec<String> = sessions.iter().filter_map(|s| s.id.clone()).collect();
    let mut tx = pool.begin().await?;
    accounts::ensure_account(&mut tx, ACCOUNT_ID, ACCOUNT_NAME).await?;
    tx.commit().await?;
    if crate::storage::auth::user_id_by_email(pool, EMAIL)
        .await?
        .is_none()
    {
        let roles = ["Manager".to_string()];
        crate::accounts::add_user(
            pool,
            ACCOUNT_ID,
            EMAIL,
            PASSWORD,
            Some("Demo Manager"),
            &roles,
        )
        .await?;
    }
    let mut missing = Vec::new();
    for s in sessions {
        let id = s.id.as_deref().unwrap_or_default();
        if !crate::storage::sessions::exists(pool, id).await? {
            missing.push(s);
        }
    }
    crate::import::import(pool, &missing).await?;
    Ok(Demo { session_ids })
}
