//! What the .NET JsonServiceClient and XmlServiceClient put on the wire, sent with reqwest.

use super::*;

// ---------------------------------------------------------------------------------------------
// What the .NET clients send
// ---------------------------------------------------------------------------------------------

fn is_iso_utc(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && s.ends_with('Z')
        && (b.len() == 20 || (b[19] == b'.' && digits(20..b.len() - 1) && b.len() > 21))
}

/// The seeded session with a patch applied, as PATCH and GET must return it (with the
/// modification stamp of the response, checked separately).
fn patched(session: &Value, patch: &[(&str, &str)]) -> Value {
    let mut want = session.clone();
    for (k, v) in patch {
        want[*k] = json!(v);
    }
    want
}

/// Asserts a JSON SessionInfo equals `want` except for the modification stamp, which must
/// name `user_id` and be a fresh ISO time. Returns the stamp.
fn assert_session_json(got: &Value, want: &Value, user_id: &str) -> String {
    let mut got = got.clone();
    let mut want = want.clone();
    let stamp = got["dateLastModified"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        is_iso_utc(&stamp),
        "dateLastModified {stamp:?} is not ISO 8601 UTC"
    );
    assert_ne!(
        stamp, want["dateLastModified"],
        "dateLastModified unchanged by the patch"
    );
    assert_eq!(got["lastModifiedBy"], json!(user_id), "lastModifiedBy");
    for v in [&mut got, &mut want] {
        let o = v.as_object_mut().unwrap();
        o.remove("dateLastModified");
        o.remove("lastModifiedBy");
    }
    assert_eq!(
        got,
        want,
        "whole SessionInfo differs:\n got: {}\nwant: {}",
        serde_json::to_string_pretty(&got).unwrap(),
        serde_json::to_string_pretty(&want).unwrap()
    );
    stamp
}

async fn send_json(req: reqwest::RequestBuilder) -> (reqwest::StatusCode, String, Value) {
    let res = req.send().await.unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {text}"));
    (status, ct, body)
}

/// .NET JsonServiceClient: `PATCH /sessions/{SessionId}` with the whole DTO in the body
/// (ServiceStack.Text's default PascalCase keys) and `Accept: application/json`.
#[tokio::test]
async fn dotnet_json_service_client_patch_on_the_custom_route() {
    let id = "64a1f0c2b3d4e5f6a7b8c9d2";
    let session = session(id);
    let (app, user_id) = seeded_app(std::slice::from_ref(&session)).await;

    let body = json!({
        "SessionId": id,
        "ConsoleData": "dotnet — “json” <ok> & done",
        "CallState": "Hold",
        "HoldReason": "None",
        "QueueState": "Queued"
    });
    let (status, ct, got) = send_json(
        app.http
            .patch(app.url(&format!("/sessions/{id}")))
            .basic_auth(EMAIL, Some(PASSWORD))
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(body.to_string()),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(ct, "application/json; charset=utf-8");
    let want = patched(
        &session,
        &[
            ("consoleData", "dotnet — “json” <ok> & done"),
            ("callState", "Hold"),
            ("holdReason", "None"),
            ("queueState", "Queued"),
        ],
    );
    assert_session_json(&got, &want, &user_id);

    // GET /sessions/{id} answers the same document.
    let (status, _, fetched) = send_json(
        app.http
            .get(app.url(&format!("/sessions/{id}")))
            .basic_auth(EMAIL, Some(PASSWORD))
            .header("Accept", "application/json"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(fetched, got);

    // Unknown session: 404 with the whole ResponseStatus.
    let (status, _, err) = send_json(
        app.http
            .patch(app.url(&format!("/sessions/{UNKNOWN_SESSION}")))
            .basic_auth(EMAIL, Some(PASSWORD))
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(json!({"SessionId": UNKNOWN_SESSION, "ConsoleData": "x"}).to_string()),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        err,
        json!({"responseStatus": not_found_status(UNKNOWN_SESSION)})
    );
}

/// `POST` with `X-Http-Method-Override: PATCH` is a PATCH (ServiceStack hosts take the verb
/// from that header on every request).
#[tokio::test]
async fn post_with_method_override_patch_is_a_patch() {
    let id = "64a1f0c2b3d4e5f6a7b8c9d3";
    let session = session(id);
    let (app, user_id) = seeded_app(std::slice::from_ref(&session)).await;

    let (status, ct, got) = send_json(
        app.http
            .post(app.url(&format!("/sessions/{id}")))
            .basic_auth(EMAIL, Some(PASSWORD))
            .header("X-Http-Method-Override", "PATCH")
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(
                json!({"sessionId": id, "consoleData": "overridden", "callState": "Passive"})
                    .to_string(),
            ),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(ct, "application/json; charset=utf-8");
    let want = patched(
        &session,
        &[("consoleData", "overridden"), ("callState", "Passive")],
    );
    assert_session_json(&got, &want, &user_id);
}

// ---------------------------------------------------------------------------------------------
// .NET XmlServiceClient: DataContract XML
// ---------------------------------------------------------------------------------------------

const NS_SESSIONS: &str = "http://schemas.datacontract.org/2004/07/Voice.Api.Sessions";
const NS_API: &str = "http://schemas.datacontract.org/2004/07/Voice.Api";
const NS_CUSTOMERS: &str = "http://schemas.datacontract.org/2004/07/Voice.Api.Customers";
const NS_ARRAYS: &str = "http://schemas.microsoft.com/2003/10/Serialization/Arrays";
const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// What an XmlWriter escapes in element text.
fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn pascal(json_key: &str) -> String {
    let mut c = json_key.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// `<Name>text</Name>` or `<Name i:nil="true" />` for a scalar JSON value.
fn xml_scalar(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Null => out.push_str(&format!("<{name} i:nil=\"true\" />")),
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", xml_text(s))),
        Value::Bool(b) => out.push_str(&format!("<{name}>{b}</{name}>")),
        other => panic!("unexpected scalar {other}"),
    }
}

/// The SessionInfo as .NET's DataContractSerializer writes it (the seed's sample response
/// shape, unindented): EntityInfo members first in their own namespace, then the class's own
/// members in ordinal order of name.
fn session_xml(s: &Value) -> String {
    const OWN: &[&str] = &[
        "AccountId",
        "AccountName",
        "AnsweredById",
        "AnsweredByName",
        "CallSid",
        "CallState",
        "CallbackNumber",
        "Channel",
        "ConferenceSid",
        "ConsoleData",
        "CustomerBreadcrumb",
        "CustomerId",
        "CustomerName",
        "DateCompleted",
        "Destination",
        "DialState",
        "Direction",
        "DisplayName",
        "Ended",
        "EndpointId",
        "EndpointName",
        "FromAddress",
        "FromName",
        "FromPhoneNumber",
        "HeldByUserId",
        "HoldQueueName",
        "HoldReason",
        "Log",
        "Members",
        "MostRecentParticipantCallSid",
        "Outcome",
        "QueueMemberId",
        "QueueState",
        "RingQueueId",
        "ToAddress",
        "WasMissed",
    ];
    let field = |name: &str| {
        let key = name[..1].to_ascii_lowercase() + &name[1..];
        s.get(&key).cloned().unwrap_or(Value::Null)
    };
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><SessionInfo xmlns:i=\"{NS_XSI}\" xmlns=\"{NS_SESSIONS}\">"
    );
    for name in [
        "CreatedBy",
        "DateCreated",
        "DateLastModified",
        "Id",
        "LastModifiedBy",
    ] {
        let v = field(name);
        let text = v
            .as_str()
            .expect("the fixture sets every EntityInfo member");
        x.push_str(&format!(
            "<{name} xmlns=\"{NS_API}\">{}</{name}>",
            xml_text(text)
        ));
    }
    for name in OWN {
        let v = field(name);
        match (*name, &v) {
            ("CustomerBreadcrumb", Value::Array(items)) => {
                x.push_str(&format!(
                    "<CustomerBreadcrumb xmlns:d2p1=\"{NS_CUSTOMERS}\">"
                ));
                for item in items {
                    x.push_str("<d2p1:CustomerBreadcrumb>");
                    xml_scalar(&mut x, "d2p1:Id", &item["id"]);
                    xml_scalar(&mut x, "d2p1:Name", &item["name"]);
                    x.push_str("</d2p1:CustomerBreadcrumb>");
                }
                x.push_str("</CustomerBreadcrumb>");
            }
            ("Log", Value::Array(items)) => {
                x.push_str("<Log>");
                for item in items {
                    x.push_str("<SessionLogInfo>");
                    xml_scalar(&mut x, "Date", &item["date"]);
                    xml_scalar(&mut x, "Message", &item["message"]);
                    x.push_str("</SessionLogInfo>");
                }
                x.push_str("</Log>");
            }
            ("Members", Value::Array(items)) => {
                x.push_str("<Members>");
                for m in items {
                    x.push_str("<SessionMemberInfo>");
                    match m["applicationData"].as_object() {
                        Some(map) if map.is_empty() => {
                            x.push_str(&format!("<ApplicationData xmlns:d4p1=\"{NS_ARRAYS}\" />"))
                        }
                        Some(map) => {
                            x.push_str(&format!("<ApplicationData xmlns:d4p1=\"{NS_ARRAYS}\">"));
                            for (k, v) in map {
                                x.push_str("<d4p1:KeyValueOfstringstring>");
                                xml_scalar(&mut x, "d4p1:Key", &json!(k));
                                xml_scalar(&mut x, "d4p1:Value", v);
                                x.push_str("</d4p1:KeyValueOfstringstring>");
                            }
                            x.push_str("</ApplicationData>");
                        }
                        None => panic!("the fixture sets applicationData on every member"),
                    }
                    for member in [
                        "avatarUrl",
                        "callSid",
                        "callState",
                        "displayName",
                        "endpointId",
                        "identity",
                        "isOriginalMember",
                        "muted",
                        "role",
                    ] {
                        xml_scalar(&mut x, &pascal(member), &m[member]);
                    }
                    x.push_str("</SessionMemberInfo>");
                }
                x.push_str("</Members>");
            }
            (_, v) => xml_scalar(&mut x, name, v),
        }
    }
    x.push_str("</SessionInfo>");
    x
}

/// The text of the first `<name ...>text</name>` in `xml`.
fn element_text<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{name}"))?;
    let open_end = start + xml[start..].find('>')? + 1;
    let close = open_end + xml[open_end..].find(&format!("</{name}>"))?;
    Some(&xml[open_end..close])
}

async fn send_xml(req: reqwest::RequestBuilder) -> (reqwest::StatusCode, String, String) {
    let res = req.send().await.unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ct, res.text().await.unwrap())
}

/// .NET XmlServiceClient: the seed's sample request, byte for byte but for the session id;
/// the answer is the whole SessionInfo in DataContract XML.
#[tokio::test]
async fn dotnet_xml_service_client_patch_answers_datacontract_xml() {
    let id = "64a1f0c2b3d4e5f6a7b8c9d4";
    let mut session = session(id);
    // Null strings are written as i:nil; an empty dictionary still declares its namespace.
    session["outcome"] = Value::Null;
    session["ringQueueId"] = Value::Null;
    let (app, user_id) = seeded_app(std::slice::from_ref(&session)).await;

    let request = seed_patch_request(id);
    let (status, ct, body) = send_xml(
        app.http
            .patch(app.url(&format!("/sessions/{id}")))
            .basic_auth(EMAIL, Some(PASSWORD))
            .header("Accept", "application/xml")
            .header("Content-Type", "application/xml")
            .body(request),
    )
    .await;
    assert_eq!(
        (status.as_u16(), ct.as_str()),
        (200, "application/xml"),
        "body: {body:?}"
    );

    let stamp = element_text(&body, "DateLastModified")
        .unwrap_or_else(|| panic!("no DateLastModified in {body}"))
        .to_string();
    assert!(is_iso_utc(&stamp), "DateLastModified {stamp:?}");
    assert_ne!(stamp, session["dateLastModified"]);
    let mut want = patched(
        &session,
        &[
            ("callState", "Disconnected"),
            ("consoleData", "String"),
            ("holdReason", "None"),
            ("queueState", "None"),
        ],
    );
    want["dateLastModified"] = json!(stamp);
    want["lastModifiedBy"] = json!(user_id);
    let expected = session_xml(&want);
    assert_eq!(body, expected, "\n got: {body}\nwant: {expected}");

    // GET with Accept: application/xml answers the same document.
    let (status, ct, fetched) = send_xml(
        app.http
            .get(app.url(&format!("/sessions/{id}")))
            .basic_auth(EMAIL, Some(PASSWORD))
            .header("Accept", "application/xml"),
    )
    .await;
    assert_eq!((status.as_u16(), ct.as_str()), (200, "application/xml"));
    assert_eq!(fetched, expected);
}

/// The expected-XML builder itself, checked against the seed's sample response shape.
#[test]
fn session_xml_follows_the_seed_sample_shape() {
    // The seed's sample response, unindented.
    let sample: String = SEED_SESSION_INFO_XML.lines().map(str::trim).collect();

    let mut s = json!({});
    for key in [
        "createdBy",
        "dateCreated",
        "dateLastModified",
        "id",
        "lastModifiedBy",
        "accountId",
        "accountName",
        "answeredById",
        "answeredByName",
        "callSid",
        "callbackNumber",
        "conferenceSid",
        "consoleData",
        "customerId",
        "customerName",
        "dateCompleted",
        "destination",
        "displayName",
        "endpointId",
        "endpointName",
        "fromAddress",
        "fromName",
        "fromPhoneNumber",
        "heldByUserId",
        "holdQueueName",
        "mostRecentParticipantCallSid",
        "outcome",
        "queueMemberId",
        "ringQueueId",
        "toAddress",
    ] {
        s[key] = json!("String");
    }
    for (k, v) in [
        ("callState", "Disconnected"),
        ("channel", "Voice"),
        ("dialState", "None"),
        ("direction", "Incoming"),
        ("holdReason", "None"),
        ("queueState", "None"),
    ] {
        s[k] = json!(v);
    }
    s["ended"] = json!(false);
    s["wasMissed"] = json!(false);
    s["customerBreadcrumb"] = json!([{"id": "String", "name": "String"}]);
    s["log"] = json!([{"date": "String", "message": "String"}]);
    s["members"] = json!([{
        "applicationData": {"String": "String"},
        "avatarUrl": "String", "callSid": "String", "callState": "None", "displayName": "String",
        "endpointId": "String", "identity": "String", "isOriginalMember": false, "muted": false,
        "role": "None"
    }]);
    let built = session_xml(&s);
    assert_eq!(
        built.strip_prefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        Some(sample.as_str())
    );
}
