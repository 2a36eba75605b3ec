//! Every fixture, defined once: the accounts, the users and their passwords, the sessions, and
//! the seed's golden files (`tests/golden/`, read, never copied).

use super::internals;
use serde_json::{Value, json};
use sqlx::PgPool;

pub const ACCOUNT: &str = "5f0c1a2b3c4d5e6f7a8b9c00";
pub const OTHER_ACCOUNT: &str = "5f0c1a2b3c4d5e6f7a8b9cff";

/// The sessions most tests work on; SESSION and OTHER_SESSION are in ACCOUNT.
pub const SESSION: &str = "5f0c1a2b3c4d5e6f7a8b9c01";
pub const OTHER_SESSION: &str = "5f0c1a2b3c4d5e6f7a8b9c02";
/// A session in OTHER_ACCOUNT.
pub const FOREIGN_SESSION: &str = "5f0c1a2b3c4d5e6f7a8b9cf1";
/// An id no fixture uses.
pub const UNKNOWN_SESSION: &str = "000000000000000000000000";
/// The consoleData of a [`simple_session`].
pub const ORIG: &str = "orig";

/// A fixture user: who they are, their password, their one role and account.
#[derive(Debug, Clone, Copy)]
pub struct User {
    pub email: &'static str,
    pub password: &'static str,
    pub name: Option<&'static str>,
    pub role: &'static str,
    pub account: &'static str,
}

/// A `User` of ACCOUNT. A colon and non-ASCII in the password: Basic splits user and password
/// at the first colon.
pub const AGENT: User = User {
    email: "agent@example.com",
    password: "pa:ss wörd \"42\"",
    name: None,
    role: "User",
    account: ACCOUNT,
};

/// A `Manager` of ACCOUNT, with a display name.
pub const ADA: User = User {
    email: "ada@example.com",
    password: "Corr3ct-Horse-Battery",
    name: Some("Ada Lovelace"),
    role: "Manager",
    account: ACCOUNT,
};

/// A `User` of OTHER_ACCOUNT.
pub const GRACE: User = User {
    email: "grace@example.com",
    password: "Gr4ce-Hopper-Cobol",
    name: None,
    role: "User",
    account: OTHER_ACCOUNT,
};

/// A `SystemAdministrator` who belongs to ACCOUNT only (and acts in every account).
pub const ADMIN: User = User {
    email: "root@example.com",
    password: "Adm1n-Everywhere",
    name: None,
    role: "SystemAdministrator",
    account: ACCOUNT,
};

/// Creates `user` (and its account when missing); returns the user id.
pub async fn add_user(pool: &PgPool, user: &User) -> String {
    internals::add_user(
        pool,
        user.account,
        user.email,
        user.password,
        user.name,
        &[user.role],
    )
    .await
}

/// Imports SessionInfo documents, through the same function as `voice-api import`.
pub async fn import(pool: &PgPool, docs: &[Value]) {
    let texts: Vec<String> = docs.iter().map(Value::to_string).collect();
    import_texts(pool, &texts).await;
}

/// Imports documents given as JSON text (to control the order of object keys).
pub async fn import_texts(pool: &PgPool, docs: &[String]) {
    let count = internals::import_json(pool, &format!("[{}]", docs.join(","))).await;
    assert_eq!(count, docs.len(), "the fixture imports");
}

/// The ids of the users [`seed`] creates.
pub struct Users {
    pub ada: String,
    pub grace: String,
    pub admin: String,
}

/// The accounts world (authentication and authorization): ADA (a Manager of ACCOUNT, with a
/// display name), GRACE (a User of OTHER_ACCOUNT), ADMIN (a SystemAdministrator who belongs to
/// ACCOUNT only); [`simple_session`] SESSION in ACCOUNT and FOREIGN_SESSION in OTHER_ACCOUNT.
pub async fn seed(pool: &PgPool) -> Users {
    let users = Users {
        ada: add_user(pool, &ADA).await,
        grace: add_user(pool, &GRACE).await,
        admin: add_user(pool, &ADMIN).await,
    };
    import(
        pool,
        &[
            simple_session(SESSION, ACCOUNT),
            simple_session(FOREIGN_SESSION, OTHER_ACCOUNT),
        ],
    )
    .await;
    users
}

/// The sessions world: AGENT and [`full_session`] SESSION in ACCOUNT, its members'
/// applicationData keys in document order. Returns AGENT's id.
pub async fn seed_agent_with_full_session(pool: &PgPool) -> String {
    let agent = add_user(pool, &AGENT).await;
    import_texts(pool, &[full_session_text(SESSION, ACCOUNT)]).await;
    agent
}

/// The smallest world: AGENT and [`simple_session`] SESSION in ACCOUNT. Returns AGENT's id.
pub async fn seed_agent_with_simple_session(pool: &PgPool) -> String {
    let agent = add_user(pool, &AGENT).await;
    import(pool, &[simple_session(SESSION, ACCOUNT)]).await;
    agent
}

/// A small session: consoleData [`ORIG`], callState Ringing, queueState Queued, a display name
/// and one log line.
pub fn simple_session(id: &str, account: &str) -> Value {
    json!({"id": id, "accountId": account, "consoleData": ORIG, "callState": "Ringing",
           "queueState": "Queued", "displayName": "Jane", "log": [{"message": "hello"}]})
}

/// A session with every field set to a non-default value; unicode, quotes, markup and
/// ampersands in its strings; and maps whose keys are not in alphabetical order.
pub fn full_session(id: &str, account: &str) -> Value {
    json!({
        "id": id,
        "dateCreated": "2026-11-25T09:00:00.000Z",
        "dateLastModified": "2026-11-25T09:05:00.250Z",
        "createdBy": "64b7f0c2a1d3e4f5a6b70001",
        "lastModifiedBy": "64b7f0c2a1d3e4f5a6b70002",
        "dialState": "Active",
        "callState": "Ringing",
        "queueState": "Queued",
        "accountId": account,
        "accountName": "Ærøskøbing \"Support\" & Co <ApS>",
        "customerId": "64b7f0c2a1d3e4f5a6b7c001",
        "customerBreadcrumb": [
            {"id": "64b7f0c2a1d3e4f5a6b7c000", "name": "Enterprise «Root» customers"},
            {"id": "64b7f0c2a1d3e4f5a6b7c001", "name": "Northwind \"Traders\" 北风"}
        ],
        "customerName": "Northwind \"Traders\" 北风",
        "endpointId": "64b7f0c2a1d3e4f5a6b7e001",
        "endpointName": "Main line +1 555 0100 ☎",
        "dateCompleted": "2026-11-25T09:30:00.999Z",
        "destination": "+15550100",
        "toAddress": "+15550100",
        "fromAddress": "+15550123",
        "fromName": "José \"Pepe\" Müller",
        "answeredByName": "Sam O'Agent",
        "queueMemberId": "64b7f0c2a1d3e4f5a6b7e010",
        "channel": "Fax",
        "ended": true,
        "outcome": "Completed ✓",
        "callSid": "CA0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "consoleData": "{\"ticket\":\"T-1042\",\"note\":\"line1\\nline2\"}",
        "holdQueueName": "billing-hold",
        "heldByUserId": "64b7f0c2a1d3e4f5a6b7e011",
        "holdReason": "Transferring",
        "conferenceSid": "CF9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "displayName": "😀 Jane → Support \\ \"VIP\"",
        "log": [
            {"date": "2026-11-25T09:00:00.000Z", "message": "Incoming call from +15550123"},
            {"date": "2026-11-25T09:00:02.150Z", "message": "Entered queue «Support»"},
            {"date": "2026-11-25T09:00:03.000Z", "message": "Transferred to <queue> & waiting"},
            {"date": "2026-11-25T09:01:10.000Z", "message": "Said: \"hello\"\nthen waited"}
        ],
        "members": [
            {
                "identity": "client:jane",
                "endpointId": "64b7f0c2a1d3e4f5a6b7e020",
                "displayName": "Jane \"Caller\"",
                "isOriginalMember": true,
                "avatarUrl": "https://example.com/a/jane.png?size=64&x=ü",
                // Replaced by the ordered text in `full_session_text`.
                "applicationData": {"alpha": "first", "mid": "dle \"quoted\"", "zeta": "last letter", "Ünïcode": "ключ"},
                "callState": "Connected",
                "role": "Caller",
                "callSid": "CA11111111111111111111111111111111",
                "muted": true
            },
            {
                "identity": "agent:sam",
                "endpointId": "64b7f0c2a1d3e4f5a6b7e010",
                "displayName": "Sam O'Agent",
                "isOriginalMember": true,
                "avatarUrl": "https://example.com/a/sam.png",
                "applicationData": {"a": "", "b": "2", "y": "3", "z": "1"},
                "callState": "Hold",
                "role": "Transfer",
                "callSid": "CA22222222222222222222222222222222",
                "muted": true
            }
        ],
        "callbackNumber": "+15550999",
        "answeredById": "64b7f0c2a1d3e4f5a6b7e010",
        "direction": "Outgoing",
        "fromPhoneNumber": "+15550123",
        "mostRecentParticipantCallSid": "CA33333333333333333333333333333333",
        "wasMissed": true,
        "ringQueueId": "64b7f0c2a1d3e4f5a6b7f001"
    })
}

/// `full_session` as JSON text whose members' applicationData keys are in the non-alphabetical
/// order of [`full_session_application_data`] (a `serde_json::Value` would sort them).
pub fn full_session_text(id: &str, account: &str) -> String {
    let mut doc = full_session(id, account);
    for i in 0..2 {
        doc["members"][i]["applicationData"] = json!(format!("@applicationData{i}@"));
    }
    let mut text = doc.to_string();
    for (i, entries) in full_session_application_data().iter().enumerate() {
        let object = entries
            .iter()
            .map(|(k, v)| format!("{}:{}", json!(k), json!(v)))
            .collect::<Vec<_>>()
            .join(",");
        text = text.replace(
            &format!("\"@applicationData{i}@\""),
            &format!("{{{object}}}"),
        );
    }
    text
}

/// The members' applicationData of `full_session`, in document order.
pub fn full_session_application_data() -> Vec<Vec<(String, String)>> {
    let pairs = |items: &[(&str, &str)]| -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    vec![
        pairs(&[
            ("zeta", "last letter"),
            ("alpha", "first"),
            ("mid", "dle \"quoted\""),
            ("Ünïcode", "ключ"),
        ]),
        pairs(&[("z", "1"), ("b", "2"), ("y", "3"), ("a", "")]),
    ]
}

/// A session with only the required ids, empty lists and every optional field null.
pub fn sparse_session(id: &str, account: &str) -> Value {
    json!({
        "id": id,
        "accountId": account,
        "dateCreated": null,
        "consoleData": null,
        "customerBreadcrumb": [],
        "log": [],
        "members": [],
        "ended": false,
        "wasMissed": false
    })
}

/// What GET answers for `sparse_session(id, account)` with `members`.
pub fn sparse_expected(id: &str, account: &str, members: Value) -> Value {
    json!({
        "id": id,
        "dialState": "None",
        "callState": "Disconnected",
        "queueState": "None",
        "accountId": account,
        "customerBreadcrumb": [],
        "channel": "Voice",
        "ended": false,
        "holdReason": "None",
        "log": [],
        "members": members,
        "direction": "Incoming",
        "wasMissed": false
    })
}

/// `doc` with `changes` applied (a JSON object of field → new value).
pub fn with(doc: &Value, changes: Value) -> Value {
    let mut doc = doc.clone();
    for (k, v) in changes.as_object().expect("changes are an object") {
        doc[k] = v.clone();
    }
    doc
}

// ---------------------------------------------------------------------------------------------
// The seed's golden files
// ---------------------------------------------------------------------------------------------

/// The seed's sample SessionInfo response (shared/seed/PatchSession.txt), verbatim.
pub const SEED_SESSION_INFO_XML: &str = include_str!("../../golden/session_info_seed.xml");
/// The seed's sample PatchSession request, verbatim (its SessionId is `String`).
pub const SEED_PATCH_SESSION_XML: &str =
    include_str!("../../golden/patch_session_request_seed.xml");

/// The seed's PatchSession start tag, with its namespaces.
pub fn patch_session_open() -> &'static str {
    SEED_PATCH_SESSION_XML
        .lines()
        .next()
        .expect("the seed request has a start tag")
}

/// A PatchSession in DataContract XML with `members` (already in XML) inside the seed's root.
pub fn patch_session_xml(members: &str) -> String {
    format!("{}{members}</PatchSession>", patch_session_open())
}

/// The seed's sample request for session `id`, byte for byte but for the id.
pub fn seed_patch_request(id: &str) -> String {
    SEED_PATCH_SESSION_XML.replace(
        "<SessionId>String</SessionId>",
        &format!("<SessionId>{id}</SessionId>"),
    )
}

// ---------------------------------------------------------------------------------------------
// Expected values
// ---------------------------------------------------------------------------------------------

/// Checks that `stamp` is ISO 8601 UTC with milliseconds and `Z` (`2026-11-25T16:40:00.123Z`)
/// and within a few seconds of now.
pub fn assert_fresh_timestamp(stamp: &str) {
    let b = stamp.as_bytes();
    let shape_ok = b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(
        shape_ok,
        "{stamp:?} is not yyyy-MM-ddTHH:mm:ss.fffZ with milliseconds"
    );
    let at = chrono::DateTime::parse_from_rfc3339(stamp).expect("RFC 3339");
    let age = chrono::Utc::now().signed_duration_since(at);
    assert!(
        age.num_milliseconds().abs() < 10_000,
        "{stamp} is not within a few seconds of now (off by {age})"
    );
}

/// The expected body of `doc` patched with `changes` by `user_id`, as answered in `body`:
/// `lastModifiedBy` the caller and `dateLastModified` the answer's own, after checking that it
/// is fresh. A `sessionId` among the changes is the request's, not a session field.
pub fn patched(doc: &Value, changes: &Value, user_id: &str, body: &Value) -> Value {
    let stamp = body["dateLastModified"]
        .as_str()
        .unwrap_or_else(|| panic!("no dateLastModified in {body}"));
    assert_fresh_timestamp(stamp);
    assert_ne!(
        Some(stamp),
        doc["dateLastModified"].as_str(),
        "dateLastModified must be the new patch time"
    );
    let mut expected = with(doc, changes.clone());
    if let Some(o) = expected.as_object_mut() {
        o.remove("sessionId");
    }
    expected["dateLastModified"] = json!(stamp);
    expected["lastModifiedBy"] = json!(user_id);
    expected
}
