//! Demo data for `voice-api serve --demo`: one account, one user and a few realistic sessions,
//! so a newcomer can PATCH something straight away. Seeding is idempotent: what exists is kept.

use crate::dto::{
    CustomerBreadcrumb, FlowChannels, SessionCallState, SessionDialState, SessionDirections,
    SessionHoldReasons, SessionInfo, SessionLogInfo, SessionMemberCallState, SessionMemberInfo,
    SessionMemberRoles, SessionQueueStates, StringMap,
};
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
             -d '{{\"callState\":\"Hold\",\"holdReason\":\"Transferring\",\"consoleData\":\"caller asked for billing\"}}'"
        );
    }
}

/// Seeds the demo account, user and sessions where they are absent.
pub async fn seed(pool: &PgPool) -> anyhow::Result<Demo> {
    let sessions = sessions();
    let session_ids = sessions.iter().filter_map(|s| s.id.clone()).collect();
    let mut tx = pool.begin().await?;
    accounts::ensure_account(&mut tx, ACCOUNT_ID, ACCOUNT_NAME).await?;
    tx.commit().await?;
    if crate::storage::auth::user_id_by_email(pool, EMAIL)
        .await?
        .is_none()
    {
        let roles = ["Manager".to_string()];
        crate::cli::add_user(
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

fn member(
    identity: &str,
    name: &str,
    role: SessionMemberRoles,
    state: SessionMemberCallState,
    original: bool,
) -> SessionMemberInfo {
    SessionMemberInfo {
        identity: Some(identity.into()),
        endpoint_id: Some(format!("ep-{identity}")),
        display_name: Some(name.into()),
        is_original_member: original,
        avatar_url: None,
        application_data: Some(StringMap(vec![
            ("crmContactId".into(), format!("crm-{identity}")),
            ("language".into(), "en-US".into()),
        ])),
        call_state: state,
        role,
        call_sid: Some(format!("CA{:0>32}", identity.len() * 7919)),
        muted: false,
    }
}

fn log(entries: &[(&str, &str)]) -> Option<Vec<SessionLogInfo>> {
    Some(
        entries
            .iter()
            .map(|(date, message)| SessionLogInfo {
                date: Some((*date).into()),
                message: Some((*message).into()),
            })
            .collect(),
    )
}

fn base(id: &str, created: &str) -> SessionInfo {
    SessionInfo {
        id: Some(id.into()),
        date_created: Some(created.into()),
        date_last_modified: Some(created.into()),
        created_by: Some("system".into()),
        last_modified_by: Some("system".into()),
        account_id: Some(ACCOUNT_ID.into()),
        account_name: Some(ACCOUNT_NAME.into()),
        customer_id: Some("64b7f0c2a1d3e4f5a6b7c001".into()),
        customer_name: Some("Northwind Traders".into()),
        customer_breadcrumb: Some(vec![
            CustomerBreadcrumb {
                id: Some("64b7f0c2a1d3e4f5a6b7c000".into()),
                name: Some("Enterprise Customers".into()),
            },
            CustomerBreadcrumb {
                id: Some("64b7f0c2a1d3e4f5a6b7c001".into()),
                name: Some("Northwind Traders".into()),
            },
        ]),
        endpoint_id: Some("64b7f0c2a1d3e4f5a6b7e001".into()),
        endpoint_name: Some("Main Line +1 555 0100".into()),
        channel: FlowChannels::Voice,
        log: Some(Vec::new()),
        members: Some(Vec::new()),
        ..SessionInfo::default()
    }
}

/// Five sessions in different states: ringing in queue, connected, on hold, ended, a chat.
fn sessions() -> Vec<SessionInfo> {
    let caller = |n: &str| {
        member(
            n,
            "Jane Caller",
            SessionMemberRoles::Caller,
            SessionMemberCallState::Connected,
            true,
        )
    };
    let agent = |n: &str| {
        member(
            n,
            "Sam Agent",
            SessionMemberRoles::Agent,
            SessionMemberCallState::Connected,
            false,
        )
    };
    vec![
        SessionInfo {
            dial_state: SessionDialState::Active,
            call_state: SessionCallState::Ringing,
            queue_state: SessionQueueStates::Queued,
            to_address: Some("+15550100".into()),
            from_address: Some("+15550123".into()),
            from_name: Some("JANE CALLER".into()),
            call_sid: Some("CA0f1e2d3c4b5a69788796a5b4c3d2e1f0".into()),
            display_name: Some("Jane Caller → Support".into()),
            direction: SessionDirections::Incoming,
            ring_queue_id: Some("64b7f0c2a1d3e4f5a6b7f001".into()),
            members: Some(vec![caller("client:jane")]),
            log: log(&[
                ("2026-11-25T09:00:00.000Z", "Incoming call from +15550123"),
                ("2026-11-25T09:00:02.150Z", "Entered queue Support"),
            ]),
            ..base("64b7f0c2a1d3e4f5a6b7d001", "2026-11-25T09:00:00.000Z")
        },
        SessionInfo {
            dial_state: SessionDialState::Active,
            call_state: SessionCallState::Connected,
            queue_state: SessionQueueStates::Connected,
            to_address: Some("+15550100".into()),
            from_address: Some("+15550456".into()),
            answered_by_id: Some("64b7f0c2a1d3e4f5a6b7e010".into()),
            answered_by_name: Some("Sam Agent".into()),
            queue_member_id: Some("64b7f0c2a1d3e4f5a6b7e010".into()),
            call_sid: Some("CA1a2b3c4d5e6f708192a3b4c5d6e7f809".into()),
            conference_sid: Some("CF9f8e7d6c5b4a39281706f5e4d3c2b1a0".into()),
            console_data: Some("{\"ticket\":\"T-1042\"}".into()),
            display_name: Some("Order status question".into()),
            members: Some(vec![caller("client:lee"), agent("agent:sam")]),
            log: log(&[
                ("2026-11-25T09:10:00.000Z", "Incoming call from +15550456"),
                ("2026-11-25T09:10:31.700Z", "Answered by Sam Agent"),
            ]),
            ..base("64b7f0c2a1d3e4f5a6b7d002", "2026-11-25T09:10:00.000Z")
        },
        SessionInfo {
            dial_state: SessionDialState::Active,
            call_state: SessionCallState::Hold,
            queue_state: SessionQueueStates::Hold,
            hold_reason: SessionHoldReasons::Transferring,
            hold_queue_name: Some("billing-hold".into()),
            held_by_user_id: Some("64b7f0c2a1d3e4f5a6b7e010".into()),
            from_address: Some("+15550789".into()),
            call_sid: Some("CA2b3c4d5e6f708192a3b4c5d6e7f8091a".into()),
            members: Some(vec![caller("client:kim"), agent("agent:sam")]),
            log: log(&[(
                "2026-11-25T09:20:05.000Z",
                "Placed on hold for transfer to Billing",
            )]),
            ..base("64b7f0c2a1d3e4f5a6b7d003", "2026-11-25T09:20:00.000Z")
        },
        SessionInfo {
            call_state: SessionCallState::Disconnected,
            queue_state: SessionQueueStates::Disconnected,
            ended: true,
            was_missed: true,
            outcome: Some("Abandoned".into()),
            date_completed: Some("2026-11-25T08:45:40.000Z".into()),
            from_address: Some("+15550999".into()),
            callback_number: Some("+15550999".into()),
            members: Some(Vec::new()),
            log: log(&[("2026-11-25T08:45:40.000Z", "Caller hung up while queued")]),
            ..base("64b7f0c2a1d3e4f5a6b7d004", "2026-11-25T08:45:00.000Z")
        },
        SessionInfo {
            channel: FlowChannels::Chat,
            call_state: SessionCallState::Connected,
            direction: SessionDirections::Outgoing,
            from_phone_number: Some("+15550321".into()),
            destination: Some("+15550321".into()),
            most_recent_participant_call_sid: Some("CA3c4d5e6f708192a3b4c5d6e7f8091a2b".into()),
            members: Some(vec![agent("agent:ana")]),
            customer_breadcrumb: Some(Vec::new()),
            ..base("64b7f0c2a1d3e4f5a6b7d005", "2026-11-25T09:30:00.000Z")
        },
    ]
}
