//! DataContract XML: the shape .NET's `DataContractSerializer` gives ServiceStack's `application/xml`
//! bodies, written and read without a DOM.
//!
//! Writing goes byte by byte into the response buffer in exactly the order and spelling .NET uses
//! (ServiceStack serialises with `XmlWriter.Create(stream, settings)` wrapped around a
//! `DataContractSerializer`), so a .NET `XmlServiceClient` — and anyone diffing our output
//! against the real service — sees identical bytes.
//!
//! Reading is a thin, hardened pull layer over `quick-xml` (`Document`). Every request DTO and
//! [`read_session_info`] go through it, so the security rules (no DTDs, no entities beyond the
//! predefined five, no processing instructions, depth/name/namespace limits, strict UTF-8, one root)
//! live in one place.
//!
//! Layout:
//! - writers: [`write_session_info`], [`write_error_response`], [`write_authenticate_response`],
//!   [`write_user_info`] and the text escaper;
//! - readers: [`read_fields`] (every request DTO), [`read_session_info`];
//! - [`XmlError`]: why a body was rejected, phrased for the client.

use crate::dto::{
    AuthenticateResponse, CustomerBreadcrumb, FlowChannels, ResponseError, ResponseStatus,
    SessionCallState, SessionDialState, SessionDirections, SessionHoldReasons, SessionInfo,
    SessionLogInfo, SessionMemberCallState, SessionMemberInfo, SessionMemberRoles,
    SessionQueueStates, StringMap, UserInfo,
};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// `xsi`: carries `nil`.
const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The namespace the `xml:` prefix is permanently bound to.
const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";
/// `EntityInfo` (the base class of `SessionInfo`) lives in the CLR namespace `Voice.Api`.
const NS_API: &str = "http://schemas.datacontract.org/2004/07/Voice.Api";
/// `SessionInfo`, `SessionLogInfo`, `SessionMemberInfo` and the request DTOs.
pub const NS_SESSIONS: &str = "http://schemas.datacontract.org/2004/07/Voice.Api.Sessions";
/// `CustomerBreadcrumb`.
const NS_CUSTOMERS: &str = "http://schemas.datacontract.org/2004/07/Voice.Api.Customers";
/// Where .NET puts the item contracts of generic collections, e.g. `Dictionary<string,string>`.
const NS_ARRAYS: &str = "http://schemas.microsoft.com/2003/10/Serialization/Arrays";
/// ServiceStack's own contracts (`ErrorResponse`, `ResponseStatus`, `ResponseError`).
const NS_SERVICESTACK: &str = "http://schemas.servicestack.net/types";

/// Elements nested deeper than this are rejected. The deepest legitimate path is 6
/// (`SessionInfo/Members/SessionMemberInfo/ApplicationData/KeyValueOfstringstring/Key`); the
/// limit only exists so hostile input cannot make us track unbounded state.
pub const MAX_DEPTH: usize = 32;
/// Longest accepted element name (qualified, in bytes). Our longest is 28.
pub const MAX_NAME_LEN: usize = 256;
/// Most namespace bindings in scope at once: lookups are linear, so this bounds their cost.
pub const MAX_NAMESPACE_BINDINGS: usize = 128;

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// What `XmlWriter.Create` emits first with ServiceStack's settings (declaration on, no BOM).
const XML_DECLARATION: &[u8] = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>";

const SESSION_INFO_OPEN: &[u8] = b"<SessionInfo xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=\"http://schemas.datacontract.org/2004/07/Voice.Api.Sessions\">";
const ERROR_RESPONSE_OPEN: &[u8] = b"<ErrorResponse xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=\"http://schemas.servicestack.net/types\">";

/// Base-class members redeclare their own default namespace on every element.
const XMLNS_API: &str = " xmlns=\"http://schemas.datacontract.org/2004/07/Voice.Api\"";
/// .NET names collection-item prefixes `d{depth}p{n}`; `CustomerBreadcrumb` sits at depth 2.
const XMLNS_D2P1_CUSTOMERS: &str =
    " xmlns:d2p1=\"http://schemas.datacontract.org/2004/07/Voice.Api.Customers\"";
/// `ApplicationData` sits at depth 4 (`SessionInfo/Members/SessionMemberInfo/ApplicationData`).
const XMLNS_D4P1_ARRAYS: &str =
    " xmlns:d4p1=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\"";
/// `ResponseStatus.Meta` sits at depth 3 (`ErrorResponse/ResponseStatus/Meta`).
const XMLNS_D3P1_ARRAYS: &str =
    " xmlns:d3p1=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\"";
/// `ResponseError.Meta` sits at depth 5 (`ErrorResponse/ResponseStatus/Errors/ResponseError/Meta`).
const XMLNS_D5P1_ARRAYS: &str =
    " xmlns:d5p1=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\"";

/// Writes `s` as ServiceStack's `application/xml` body: declaration, then the root, unindented.
///
/// Members come in `DataContractSerializer` order: base class (`EntityInfo`) first, then the
/// class's own members sorted ordinally (byte-wise, hence `CallState` before `CallbackNumber`).
///
/// Null and empty are distinct on the wire, as in .NET:
/// - `None` → `<Name i:nil="true" />`;
/// - `Some("")` → `<Name></Name>` (.NET's `XmlWriter` closes an element it wrote an empty
///   string into with a full end tag);
/// - an empty list → a self-closed element that still declares its item namespace.
///
/// Attribute order on nil elements follows .NET's `XmlWriter`, which writes explicitly written
/// attributes in call order and the namespace declarations it had to invent last:
/// - base-class members: `<CreatedBy i:nil="true" xmlns="…/Voice.Api" />` (the default-namespace
///   switch is implicit, so it comes after `i:nil`);
/// - collections: `<CustomerBreadcrumb xmlns:d2p1="…" i:nil="true" />` (the serializer declares
///   the item prefix explicitly when it starts the member, before it knows the value is null),
///   likewise `ApplicationData`'s `d4p1`. Real .NET output of nil collections shows this order.
pub fn write_session_info(out: &mut Vec<u8>, s: &SessionInfo) {
    // A session with a handful of members is 2–4 KB; one reservation avoids regrowth.
    out.reserve(4096);
    out.extend_from_slice(XML_DECLARATION);
    out.extend_from_slice(SESSION_INFO_OPEN);

    // EntityInfo, ordinal order.
    text_element(out, "CreatedBy", XMLNS_API, s.created_by.as_deref());
    text_element(out, "DateCreated", XMLNS_API, s.date_created.as_deref());
    text_element(
        out,
        "DateLastModified",
        XMLNS_API,
        s.date_last_modified.as_deref(),
    );
    text_element(out, "Id", XMLNS_API, s.id.as_deref());
    text_element(
        out,
        "LastModifiedBy",
        XMLNS_API,
        s.last_modified_by.as_deref(),
    );

    // SessionInfo, ordinal order (checked against SESSION_FIELDS by a test).
    text_element(out, "AccountId", "", s.account_id.as_deref());
    text_element(out, "AccountName", "", s.account_name.as_deref());
    text_element(out, "AnsweredById", "", s.answered_by_id.as_deref());
    text_element(out, "AnsweredByName", "", s.answered_by_name.as_deref());
    text_element(out, "CallSid", "", s.call_sid.as_deref());
    value_element(out, "CallState", s.call_state.as_str());
    text_element(out, "CallbackNumber", "", s.callback_number.as_deref());
    value_element(out, "Channel", s.channel.as_str());
    text_element(out, "ConferenceSid", "", s.conference_sid.as_deref());
    text_element(out, "ConsoleData", "", s.console_data.as_deref());
    list_element(
        out,
        "CustomerBreadcrumb",
        XMLNS_D2P1_CUSTOMERS,
        s.customer_breadcrumb.as_deref(),
        write_breadcrumb,
    );
    text_element(out, "CustomerId", "", s.customer_id.as_deref());
    text_element(out, "CustomerName", "", s.customer_name.as_deref());
    text_element(out, "DateCompleted", "", s.date_completed.as_deref());
    text_element(out, "Destination", "", s.destination.as_deref());
    value_element(out, "DialState", s.dial_state.as_str());
    value_element(out, "Direction", s.direction.as_str());
    text_element(out, "DisplayName", "", s.display_name.as_deref());
    value_element(out, "Ended", bool_str(s.ended));
    text_element(out, "EndpointId", "", s.endpoint_id.as_deref());
    text_element(out, "EndpointName", "", s.endpoint_name.as_deref());
    text_element(out, "FromAddress", "", s.from_address.as_deref());
    text_element(out, "FromName", "", s.from_name.as_deref());
    text_element(out, "FromPhoneNumber", "", s.from_phone_number.as_deref());
    text_element(out, "HeldByUserId", "", s.held_by_user_id.as_deref());
    text_element(out, "HoldQueueName", "", s.hold_queue_name.as_deref());
    value_element(out, "HoldReason", s.hold_reason.as_str());
    list_element(out, "Log", "", s.log.as_deref(), write_log_info);
    list_element(out, "Members", "", s.members.as_deref(), write_member);
    text_element(
        out,
        "MostRecentParticipantCallSid",
        "",
        s.most_recent_participant_call_sid.as_deref(),
    );
    text_element(out, "Outcome", "", s.outcome.as_deref());
    text_element(out, "QueueMemberId", "", s.queue_member_id.as_deref());
    value_element(out, "QueueState", s.queue_state.as_str());
    text_element(out, "RingQueueId", "", s.ring_queue_id.as_deref());
    text_element(out, "ToAddress", "", s.to_address.as_deref());
    value_element(out, "WasMissed", bool_str(s.was_missed));

    out.extend_from_slice(b"</SessionInfo>");
}

fn write_breadcrumb(out: &mut Vec<u8>, b: &CustomerBreadcrumb) {
    out.extend_from_slice(b"<d2p1:CustomerBreadcrumb>");
    text_element(out, "d2p1:Id", "", b.id.as_deref());
    text_element(out, "d2p1:Name", "", b.name.as_deref());
    out.extend_from_slice(b"</d2p1:CustomerBreadcrumb>");
}

fn write_log_info(out: &mut Vec<u8>, l: &SessionLogInfo) {
    out.extend_from_slice(b"<SessionLogInfo>");
    text_element(out, "Date", "", l.date.as_deref());
    text_element(out, "Message", "", l.message.as_deref());
    out.extend_from_slice(b"</SessionLogInfo>");
}

fn write_member(out: &mut Vec<u8>, m: &SessionMemberInfo) {
    out.extend_from_slice(b"<SessionMemberInfo>");
    list_element(
        out,
        "ApplicationData",
        XMLNS_D4P1_ARRAYS,
        m.application_data.as_ref().map(|d| d.0.as_slice()),
        write_key_value,
    );
    text_element(out, "AvatarUrl", "", m.avatar_url.as_deref());
    text_element(out, "CallSid", "", m.call_sid.as_deref());
    value_element(out, "CallState", m.call_state.as_str());
    text_element(out, "DisplayName", "", m.display_name.as_deref());
    text_element(out, "EndpointId", "", m.endpoint_id.as_deref());
    text_element(out, "Identity", "", m.identity.as_deref());
    value_element(out, "IsOriginalMember", bool_str(m.is_original_member));
    value_element(out, "Muted", bool_str(m.muted));
    value_element(out, "Role", m.role.as_str());
    out.extend_from_slice(b"</SessionMemberInfo>");
}

fn write_key_value(out: &mut Vec<u8>, (key, value): &(String, String)) {
    out.extend_from_slice(b"<d4p1:KeyValueOfstringstring>");
    text_element(out, "d4p1:Key", "", Some(key));
    text_element(out, "d4p1:Value", "", Some(value));
    out.extend_from_slice(b"</d4p1:KeyValueOfstringstring>");
}

/// Writes ServiceStack's `ErrorResponse` (what every failed XML request gets back).
///
/// `ResponseStatus` and `ResponseError` are `[DataContract]`s with explicit `Order`, so members
/// follow that order, not the alphabet: ErrorCode, Message, StackTrace, Errors, Meta. Both declare
/// a `Meta` dictionary (`DataMember(Order = 5)` / `(Order = 4)`) that .NET writes as nil when unset;
/// it is written here too so the bytes match (ServiceStack's own XML metadata samples show these
/// members, with `d3p1`/`d5p1` prefixes for their depth). `StackTrace` is only set in debug
/// mode, which this server never enables, so it is always nil. An empty error list is `<Errors />`
/// because ServiceStack always initialises the list.
pub fn write_error_response(out: &mut Vec<u8>, status: &ResponseStatus) {
    out.extend_from_slice(XML_DECLARATION);
    out.extend_from_slice(ERROR_RESPONSE_OPEN);
    write_response_status(out, status);
    out.extend_from_slice(b"</ErrorResponse>");
}

/// `<ResponseStatus>` as a member of a DTO in ServiceStack's namespace (no prefixes needed).
fn write_response_status(out: &mut Vec<u8>, status: &ResponseStatus) {
    out.extend_from_slice(b"<ResponseStatus>");
    text_element(out, "ErrorCode", "", Some(&status.error_code));
    text_element(out, "Message", "", Some(&status.message));
    text_element(out, "StackTrace", "", None);
    list_element(
        out,
        "Errors",
        "",
        Some(&status.errors),
        write_response_error,
    );
    nil_element(out, "Meta", XMLNS_D3P1_ARRAYS, "");
    out.extend_from_slice(b"</ResponseStatus>");
}

fn write_response_error(out: &mut Vec<u8>, e: &ResponseError) {
    out.extend_from_slice(b"<ResponseError>");
    text_element(out, "ErrorCode", "", Some(&e.error_code));
    text_element(out, "FieldName", "", Some(&e.field_name));
    text_element(out, "Message", "", Some(&e.message));
    nil_element(out, "Meta", XMLNS_D5P1_ARRAYS, "");
    out.extend_from_slice(b"</ResponseError>");
}

/// `List<string>` at depth 2: `d2p1:string` items in the Arrays namespace.
const XMLNS_D2P1_ARRAYS: &str =
    " xmlns:d2p1=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\"";

// `&String` because `list_element` hands each item of a `[String]` to its writer.
#[allow(clippy::ptr_arg)]
fn write_d2p1_string(out: &mut Vec<u8>, s: &String) {
    text_element(out, "d2p1:string", "", Some(s));
}

/// ServiceStack's `AuthenticateResponse`, members in DataMember order; what we never set
/// (tokens, profile, provider, status, meta) is nil, as .NET writes unset members.
pub fn write_authenticate_response(out: &mut Vec<u8>, r: &AuthenticateResponse) {
    out.extend_from_slice(XML_DECLARATION);
    out.extend_from_slice(b"<AuthenticateResponse xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=\"http://schemas.servicestack.net/types\">");
    text_element(out, "UserId", "", r.user_id.as_deref());
    text_element(out, "SessionId", "", r.session_id.as_deref());
    text_element(out, "UserName", "", r.user_name.as_deref());
    text_element(out, "DisplayName", "", r.display_name.as_deref());
    for unset in [
        "ReferrerUrl",
        "BearerToken",
        "RefreshToken",
        "RefreshTokenExpiry",
        "ProfileUrl",
    ] {
        nil_element(out, unset, "", "");
    }
    list_element(
        out,
        "Roles",
        XMLNS_D2P1_ARRAYS,
        r.roles.as_deref(),
        write_d2p1_string,
    );
    list_element(
        out,
        "Permissions",
        XMLNS_D2P1_ARRAYS,
        r.permissions.as_deref(),
        write_d2p1_string,
    );
    nil_element(out, "AuthProvider", "", "");
    match &r.response_status {
        Some(status) => write_response_status(out, status),
        None => nil_element(out, "ResponseStatus", "", ""),
    }
    nil_element(out, "Meta", XMLNS_D2P1_ARRAYS, "");
    out.extend_from_slice(b"</AuthenticateResponse>");
}

/// Evo Voice's `UserInfo` (`/auth/status`). Its CLR namespace is not published; we use
/// `Voice.Api.Authentication` (inferred). Members in ordinal order.
pub fn write_user_info(out: &mut Vec<u8>, u: &UserInfo) {
    out.extend_from_slice(XML_DECLARATION);
    out.extend_from_slice(b"<UserInfo xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=\"http://schemas.datacontract.org/2004/07/Voice.Api.Authentication\">");
    list_element(
        out,
        "AccountIds",
        XMLNS_D2P1_ARRAYS,
        u.account_ids.as_deref(),
        write_d2p1_string,
    );
    list_element(
        out,
        "AccountNames",
        XMLNS_D2P1_ARRAYS,
        u.account_names.as_deref(),
        write_d2p1_string,
    );
    text_element(out, "EmailAddress", "", u.email_address.as_deref());
    text_element(out, "FirstName", "", u.first_name.as_deref());
    text_element(out, "Id", "", u.id.as_deref());
    value_element(out, "IsAuthenticated", bool_str(u.is_authenticated));
    text_element(out, "LastName", "", u.last_name.as_deref());
    text_element(out, "Name", "", u.name.as_deref());
    list_element(
        out,
        "Roles",
        XMLNS_D2P1_ARRAYS,
        u.roles.as_deref(),
        write_d2p1_string,
    );
    out.extend_from_slice(b"</UserInfo>");
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// `<name{attrs}>escaped</name>`, or the nil form for `None` (`i:nil` before `attrs`, see
/// [`write_session_info`] for why).
fn text_element(out: &mut Vec<u8>, name: &str, attrs: &str, value: Option<&str>) {
    match value {
        Some(v) => {
            start_tag(out, name, attrs);
            escape_text(out, v);
            end_tag(out, name);
        }
        None => nil_element(out, name, "", attrs),
    }
}

/// An element whose value is a fixed token (enum name, boolean) that never needs escaping.
fn value_element(out: &mut Vec<u8>, name: &str, token: &str) {
    start_tag(out, name, "");
    out.extend_from_slice(token.as_bytes());
    end_tag(out, name);
}

/// A collection member: nil, self-closed when empty, otherwise the items in order. `decl` is
/// the item-namespace declaration .NET puts on the member in all three cases.
fn list_element<T>(
    out: &mut Vec<u8>,
    name: &str,
    decl: &str,
    items: Option<&[T]>,
    write_item: fn(&mut Vec<u8>, &T),
) {
    match items {
        None => nil_element(out, name, decl, ""),
        Some([]) => {
            out.push(b'<');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(decl.as_bytes());
            out.extend_from_slice(b" />");
        }
        Some(items) => {
            start_tag(out, name, decl);
            for item in items {
                write_item(out, item);
            }
            end_tag(out, name);
        }
    }
}

/// `<name{before} i:nil="true"{after} />` — .NET's `XmlWriter` self-closes with a space.
fn nil_element(out: &mut Vec<u8>, name: &str, before: &str, after: &str) {
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(before.as_bytes());
    out.extend_from_slice(b" i:nil=\"true\"");
    out.extend_from_slice(after.as_bytes());
    out.extend_from_slice(b" />");
}

fn start_tag(out: &mut Vec<u8>, name: &str, attrs: &str) {
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(attrs.as_bytes());
    out.push(b'>');
}

fn end_tag(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

/// Escapes element text the way .NET's `XmlWriter` does, plus one deliberate difference.
///
/// - `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;`; quotes and apostrophes stay as they are (they
///   only need escaping inside attributes).
/// - `\r` becomes `&#xD;` so a strict reader (which folds raw CR and CRLF into LF) gets it back
///   unchanged; tab and newline are written raw.
/// - Non-ASCII is written as raw UTF-8.
/// - Characters XML 1.0 cannot carry at all (U+0000–U+0008, U+000B, U+000C, U+000E–U+001F,
///   U+FFFE, U+FFFF): .NET's checking writer throws and the client gets a 500. We must not fail
///   halfway through a response, and silently dropping data is worse, so they are written as
///   hexadecimal character references (`&#x1;`). Strict XML 1.0 parsers reject those, which is
///   no worse than .NET's failure; our own reader accepts them, so values round-trip exactly.
fn escape_text(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // Nearly every byte is plain text: one table lookup lets it through.
        if !MAY_NEED_ESCAPE[usize::from(b)] {
            i += 1;
            continue;
        }
        let (replacement, len): (Cow<'static, [u8]>, usize) = match b {
            b'&' => (Cow::Borrowed(b"&amp;"), 1),
            b'<' => (Cow::Borrowed(b"&lt;"), 1),
            b'>' => (Cow::Borrowed(b"&gt;"), 1),
            b'\r' => (Cow::Borrowed(b"&#xD;"), 1),
            b'\t' | b'\n' => {
                i += 1;
                continue;
            }
            0x00..=0x1F => (Cow::Owned(char_reference(u32::from(b))), 1),
            // U+FFFE and U+FFFF are EF BF BE / EF BF BF in UTF-8.
            0xEF if bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
            {
                let c = 0xFFC0 | (u32::from(bytes[i + 2]) & 0x3F);
                (Cow::Owned(char_reference(c)), 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[copied..i]);
        out.extend_from_slice(&replacement);
        i += len;
        copied = i;
    }
    out.extend_from_slice(&bytes[copied..]);
}

/// The bytes [`escape_text`] must look at: `&`, `<`, `>`, the control characters other than
/// tab and newline, and 0xEF (the lead byte of U+FFFE and U+FFFF in UTF-8).
const MAY_NEED_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        table[c] = c != 0x09 && c != 0x0A;
        c += 1;
    }
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[0xEF] = true;
    table
};

/// `&#x1F;`: upper-case hex, as .NET writes `&#xD;`.
fn char_reference(c: u32) -> Vec<u8> {
    format!("&#x{c:X};").into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why an XML body was rejected. `Display` is written for the client (it ends up in a 400
/// `ResponseStatus.Message`), so it names what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlError {
    /// The body is not UTF-8 (the only encoding we accept, as the declaration we write says).
    InvalidUtf8 { offset: usize },
    /// A raw character XML 1.0 forbids (e.g. U+0001); only character references may carry them.
    InvalidChar { ch: char, offset: usize },
    /// Not well-formed XML; the text comes from the parser and includes the byte offset.
    Malformed(String),
    /// `<!DOCTYPE …>`: DTDs are never processed, so they are refused outright.
    DocType,
    /// A DOCTYPE that declares entities (billion laughs, external entities, …).
    EntityDeclaration,
    /// `&name;` for anything but the five predefined entities.
    UndefinedEntity(String),
    /// `<?target …?>` other than the XML declaration.
    ProcessingInstruction(String),
    /// `<?xml …?>` anywhere but the very start of the body.
    MisplacedDeclaration,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// An element name longer than [`MAX_NAME_LEN`] bytes.
    NameTooLong,
    /// More than [`MAX_NAMESPACE_BINDINGS`] namespace declarations in scope.
    TooManyNamespaces,
    /// A `prefix:` used without an `xmlns:prefix` in scope.
    UnboundPrefix(String),
    /// Only whitespace and comments: there is no element at all.
    NoRoot,
    /// The root element is not the DTO we expected.
    WrongRoot {
        expected_name: String,
        expected_namespace: String,
        found_name: String,
        found_namespace: String,
    },
    /// A second element after the root closed.
    MultipleRoots,
    /// Text after the root closed.
    TrailingContent,
    /// Non-whitespace text before the root element.
    TextBeforeRoot,
    /// Text where only child elements belong (directly inside a DTO or a list).
    UnexpectedText { parent: String },
    /// A child element inside a member that must hold text only.
    MixedContent { field: String },
    /// A value that does not parse as the member's type.
    InvalidValue {
        field: String,
        value: String,
        expected: String,
    },
    /// `i:nil="true"` on a member that cannot be null (enum, boolean).
    NullValue { field: String },
    /// A required child is missing (a dictionary entry without its key).
    MissingElement { parent: String, name: String },
}

impl XmlError {
    /// The member the error is about, for `ResponseError.FieldName`.
    pub fn field(&self) -> Option<&str> {
        match self {
            XmlError::MixedContent { field }
            | XmlError::InvalidValue { field, .. }
            | XmlError::NullValue { field } => Some(field),
            XmlError::MissingElement { parent, .. } => Some(parent),
            _ => None,
        }
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlError::InvalidUtf8 { offset } => {
                write!(f, "XML body is not valid UTF-8 (at byte {offset})")
            }
            XmlError::InvalidChar { ch, offset } => write!(
                f,
                "XML body contains the character U+{:04X} at byte {offset}, which XML 1.0 does not allow",
                u32::from(*ch)
            ),
            XmlError::Malformed(detail) => write!(f, "Malformed XML: {detail}"),
            XmlError::DocType => f.write_str("XML DOCTYPE declarations are not allowed"),
            XmlError::EntityDeclaration => f.write_str("XML entity declarations are not allowed"),
            XmlError::UndefinedEntity(name) => write!(
                f,
                "XML entity reference '&{name};' is not allowed; only &amp; &lt; &gt; &quot; &apos; and numeric character references are"
            ),
            XmlError::ProcessingInstruction(target) => write!(
                f,
                "XML processing instructions are not allowed (found <?{target}?>)"
            ),
            XmlError::MisplacedDeclaration => {
                f.write_str("The XML declaration must be at the very start of the body")
            }
            XmlError::TooDeep => write!(f, "XML is nested deeper than {MAX_DEPTH} levels"),
            XmlError::NameTooLong => {
                write!(f, "XML element name is longer than {MAX_NAME_LEN} bytes")
            }
            XmlError::TooManyNamespaces => write!(
                f,
                "XML declares more than {MAX_NAMESPACE_BINDINGS} namespaces in one scope"
            ),
            XmlError::UnboundPrefix(prefix) => {
                write!(f, "XML namespace prefix '{prefix}' is not declared")
            }
            XmlError::NoRoot => f.write_str("XML body has no root element"),
            XmlError::WrongRoot {
                expected_name,
                expected_namespace,
                found_name,
                found_namespace,
            } => write!(
                f,
                "Expected root element <{expected_name}> in namespace \"{expected_namespace}\", found <{found_name}> in namespace \"{found_namespace}\""
            ),
            XmlError::MultipleRoots => f.write_str("XML body has more than one root element"),
            XmlError::TrailingContent => f.write_str("XML body has content after the root element"),
            XmlError::TextBeforeRoot => f.write_str("XML body has text before the root element"),
            XmlError::UnexpectedText { parent } => {
                write!(
                    f,
                    "Unexpected text inside <{parent}>; only elements belong there"
                )
            }
            XmlError::MixedContent { field } => {
                write!(
                    f,
                    "<{field}> must contain only text, but contains an element"
                )
            }
            XmlError::InvalidValue {
                field,
                value,
                expected,
            } => write!(
                f,
                "'{}' is not a valid value for <{field}>; expected {expected}",
                truncate(value, 100)
            ),
            XmlError::NullValue { field } => write!(f, "<{field}> cannot be nil"),
            XmlError::MissingElement { parent, name } => {
                write!(f, "<{parent}> entry is missing <{name}>")
            }
        }
    }
}

impl std::error::Error for XmlError {}

/// Keeps error messages bounded when they echo client input.
fn truncate(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => Cow::Owned(format!("{}…", &s[..i])),
        None => Cow::Borrowed(s),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading: the hardened pull layer
// ---------------------------------------------------------------------------------------------

/// One step of the document, after all checks, with namespaces tracked and references resolved.
enum Node<'a> {
    /// An element opened (a self-closed one is followed by a synthetic [`Node::Close`], so
    /// callers never need to tell the two apart). `nil` is `xsi:nil="true"`.
    Open {
        start: BytesStart<'a>,
        nil: bool,
    },
    /// Character data: text, CDATA or one resolved reference, line endings normalised.
    Text(Cow<'a, str>),
    /// The innermost open element closed.
    Close,
    Eof,
}

/// A cursor over one XML body that enforces every rule the readers rely on. All events pass
/// through [`Document::next_node`], so skipped subtrees are checked as strictly as read ones.
struct Document<'a> {
    reader: Reader<&'a [u8]>,
    /// In-scope namespace bindings, innermost last: (prefix, URI); the default namespace has
    /// prefix "".
    bindings: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    /// `bindings.len()` when each open element started, to drop its bindings on close.
    scopes: Vec<usize>,
    /// The last `Open` was self-closing: emit its `Close` next.
    pending_close: bool,
    /// Nothing read yet: the only place an XML declaration may appear.
    at_start: bool,
}

impl<'a> Document<'a> {
    /// Validates the encoding, reads the prolog and checks the root element. On success the
    /// cursor is inside the root, ready for [`Document::next_field`].
    fn open(body: &'a [u8], namespace: &str, root: &str) -> Result<Self, XmlError> {
        // A UTF-8 BOM is allowed; the parser skips it, so offsets stay relative to `body`.
        let text = std::str::from_utf8(body).map_err(|e| XmlError::InvalidUtf8 {
            offset: e.valid_up_to(),
        })?;
        check_xml_chars(text)?;

        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.allow_dangling_amp = false;
        config.allow_unmatched_ends = false;
        config.expand_empty_elements = false;
        config.trim_text(false);

        let mut doc = Document {
            reader,
            bindings: Vec::new(),
            scopes: Vec::new(),
            pending_close: false,
            at_start: true,
        };
        loop {
            match doc.next_node()? {
                Node::Text(t) if is_xml_whitespace(&t) => {}
                Node::Text(_) => return Err(XmlError::TextBeforeRoot),
                Node::Open { start, .. } => {
                    let (found_ns, found_name) = doc.resolve_element(&start)?;
                    if found_ns != namespace || found_name != root {
                        return Err(XmlError::WrongRoot {
                            expected_name: root.to_owned(),
                            expected_namespace: namespace.to_owned(),
                            found_name: found_name.to_owned(),
                            found_namespace: found_ns.to_owned(),
                        });
                    }
                    return Ok(doc);
                }
                // The parser rejects an end tag with nothing open before we see it.
                Node::Close => return Err(XmlError::Malformed("unexpected end tag".into())),
                Node::Eof => return Err(XmlError::NoRoot),
            }
        }
    }

    /// The next child element of the current element that `lookup` recognises, as
    /// `(index, nil)`; `None` once the current element closes.
    ///
    /// Unrecognised children are skipped with their whole subtree (unknown members are
    /// ignored, as ServiceStack does). With `seen`, a second occurrence of a member is skipped
    /// too: .NET reads members in contract order, so it keeps the first and drops the repeat.
    fn next_field(
        &mut self,
        parent: &str,
        mut lookup: impl FnMut(&str, &str) -> Option<usize>,
        mut seen: Option<&mut [bool]>,
    ) -> Result<Option<(usize, bool)>, XmlError> {
        loop {
            match self.next_node()? {
                Node::Open { start, nil } => {
                    let (ns, local) = self.resolve_element(&start)?;
                    let index = lookup(ns, local);
                    let fresh = match (index, seen.as_deref_mut()) {
                        (Some(i), Some(seen)) => !std::mem::replace(&mut seen[i], true),
                        (Some(_), None) => true,
                        (None, _) => false,
                    };
                    match index {
                        Some(i) if fresh => return Ok(Some((i, nil))),
                        _ => self.skip_element()?,
                    }
                }
                Node::Text(t) if is_xml_whitespace(&t) => {}
                Node::Text(_) => {
                    return Err(XmlError::UnexpectedText {
                        parent: parent.to_owned(),
                    });
                }
                Node::Close => return Ok(None),
                Node::Eof => return Err(unexpected_eof()),
            }
        }
    }

    /// The text of the element just opened: `None` when nil, `Some("")` when empty.
    fn read_text(&mut self, nil: bool, field: &str) -> Result<Option<String>, XmlError> {
        if nil {
            // .NET ignores whatever a nil element contains; so do we (after checking it).
            self.skip_element()?;
            return Ok(None);
        }
        let mut text = String::new();
        loop {
            match self.next_node()? {
                Node::Text(t) => text.push_str(&t),
                Node::Close => return Ok(Some(text)),
                Node::Open { .. } => {
                    return Err(XmlError::MixedContent {
                        field: field.to_owned(),
                    });
                }
                Node::Eof => return Err(unexpected_eof()),
            }
        }
    }

    /// Consumes the rest of the element just opened, subtree included.
    fn skip_element(&mut self) -> Result<(), XmlError> {
        let target = self.scopes.len().saturating_sub(1);
        loop {
            match self.next_node()? {
                Node::Close if self.scopes.len() == target => return Ok(()),
                Node::Eof => return Err(unexpected_eof()),
                _ => {}
            }
        }
    }

    /// After the root closed: only whitespace and comments may follow.
    fn finish(mut self) -> Result<(), XmlError> {
        loop {
            match self.next_node()? {
                Node::Text(t) if is_xml_whitespace(&t) => {}
                Node::Text(_) => return Err(XmlError::TrailingContent),
                Node::Open { .. } => return Err(XmlError::MultipleRoots),
                Node::Close => return Err(XmlError::Malformed("unexpected end tag".into())),
                Node::Eof => return Ok(()),
            }
        }
    }

    /// The single gate every event passes through; all the security rules are here.
    fn next_node(&mut self) -> Result<Node<'a>, XmlError> {
        if self.pending_close {
            self.pending_close = false;
            self.close_scope();
            return Ok(Node::Close);
        }
        loop {
            let at_start = std::mem::replace(&mut self.at_start, false);
            let event = self.reader.read_event().map_err(|e| {
                XmlError::Malformed(format!("{e} (at byte {})", self.reader.error_position()))
            })?;
            return match event {
                Event::Start(start) => {
                    let nil = self.open_scope(&start)?;
                    Ok(Node::Open { start, nil })
                }
                Event::Empty(start) => {
                    let nil = self.open_scope(&start)?;
                    self.pending_close = true;
                    Ok(Node::Open { start, nil })
                }
                Event::End(_) => {
                    if self.scopes.is_empty() {
                        return Err(XmlError::Malformed("unexpected end tag".into()));
                    }
                    self.close_scope();
                    Ok(Node::Close)
                }
                // `]]>` may not appear in text; CDATA is the only place it ends something.
                Event::Text(text) if text.contains("]]>") => {
                    Err(XmlError::Malformed("']]>' is not allowed in text".into()))
                }
                Event::Text(text) => Ok(Node::Text(text.xml10_content())),
                Event::CData(cdata) => Ok(Node::Text(cdata.xml10_content())),
                Event::GeneralRef(reference) => {
                    let c = resolve_reference(&reference)?;
                    Ok(Node::Text(Cow::Owned(c.to_string())))
                }
                Event::Comment(_) => continue,
                Event::Decl(_) if at_start => continue,
                Event::Decl(_) => Err(XmlError::MisplacedDeclaration),
                Event::PI(pi) => Err(XmlError::ProcessingInstruction(
                    truncate(pi.target(), 50).into_owned(),
                )),
                Event::DocType(doctype) => Err(if doctype.contains("<!ENTITY") {
                    XmlError::EntityDeclaration
                } else {
                    XmlError::DocType
                }),
                Event::Eof if !self.scopes.is_empty() => Err(unexpected_eof()),
                Event::Eof => Ok(Node::Eof),
            };
        }
    }

    /// Enters an element: enforces the limits, records its namespace declarations and works
    /// out whether it is nil. Attributes are read in two passes because `xmlns:i` may come
    /// after `i:nil` on the same element.
    fn open_scope(&mut self, start: &BytesStart<'a>) -> Result<bool, XmlError> {
        let qname = start.name().0;
        if qname.len() > MAX_NAME_LEN {
            return Err(XmlError::NameTooLong);
        }
        check_qname(qname)?;
        if self.scopes.len() >= MAX_DEPTH {
            return Err(XmlError::TooDeep);
        }
        self.scopes.push(self.bindings.len());

        for attr in start.attributes() {
            let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
            let key = attr.key.0;
            let prefix = if key == "xmlns" {
                ""
            } else if let Some(prefix) = key.strip_prefix("xmlns:") {
                prefix
            } else {
                continue;
            };
            let uri = attribute_value(&attr.value)?;
            if !prefix.is_empty() && uri.is_empty() {
                return Err(XmlError::Malformed(format!(
                    "namespace prefix '{prefix}' cannot be bound to an empty URI"
                )));
            }
            if prefix == "xmlns" || (prefix == "xml" && uri != NS_XML) {
                return Err(XmlError::Malformed(format!(
                    "namespace prefix '{prefix}' cannot be redeclared"
                )));
            }
            if self.bindings.len() >= MAX_NAMESPACE_BINDINGS {
                return Err(XmlError::TooManyNamespaces);
            }
            self.bindings.push((
                intern(prefix, KNOWN_PREFIXES),
                intern(&uri, KNOWN_NAMESPACES),
            ));
        }
        // Unbound element prefixes are errors even on elements we end up skipping.
        self.resolve_element(start)?;

        let mut nil = false;
        for attr in start.attributes() {
            let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
            let key = attr.key.0;
            check_qname(key)?;
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            // Checked on every attribute so no entity slips through an ignored one.
            let value = attribute_value(&attr.value)?;
            if let Some((prefix, local)) = key.split_once(':') {
                let ns = self.namespace_of(prefix)?;
                if ns == NS_XSI && local == "nil" {
                    nil = matches!(value.trim_matches(is_xml_whitespace_char), "true" | "1");
                }
            }
        }
        Ok(nil)
    }

    fn close_scope(&mut self) {
        if let Some(len) = self.scopes.pop() {
            self.bindings.truncate(len);
        }
    }

    /// (namespace URI, local name) of an element.
    fn resolve_element<'s>(
        &'s self,
        start: &'s BytesStart<'_>,
    ) -> Result<(&'s str, &'s str), XmlError> {
        let qname = start.name().0;
        match qname.split_once(':') {
            Some((prefix, local)) => Ok((self.namespace_of(prefix)?, local)),
            None => Ok((self.namespace_of("")?, qname)),
        }
    }

    /// The URI bound to `prefix` ("" = default namespace, which may be unbound = no namespace).
    fn namespace_of(&self, prefix: &str) -> Result<&str, XmlError> {
        if prefix == "xml" {
            return Ok(NS_XML);
        }
        match self.bindings.iter().rev().find(|(p, _)| *p == prefix) {
            Some((_, uri)) => Ok(uri),
            None if prefix.is_empty() => Ok(""),
            None => Err(XmlError::UnboundPrefix(truncate(prefix, 50).into_owned())),
        }
    }
}

/// A `'static` copy of `s`: free for the prefixes and namespaces our DTOs use (nearly every
/// binding in practice), an allocation otherwise. Saves allocations on the hot request path.
fn intern(s: &str, known: &[&'static str]) -> Cow<'static, str> {
    match known.iter().find(|k| **k == s) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(s.to_owned()),
    }
}

const KNOWN_PREFIXES: &[&str] = &["", "i", "d2p1", "d3p1", "d4p1", "d5p1"];
const KNOWN_NAMESPACES: &[&str] = &[
    NS_XSI,
    NS_API,
    NS_SESSIONS,
    NS_CUSTOMERS,
    NS_ARRAYS,
    NS_SERVICESTACK,
];

/// A namespace-qualified name: `local` or `prefix:local`, each part an XML `NCName`. The
/// parser only finds where names end; it does not check what they are made of.
fn check_qname(qname: &str) -> Result<(), XmlError> {
    let mut parts = qname.splitn(3, ':');
    let valid = parts.all(is_ncname) && qname.matches(':').count() <= 1;
    if valid {
        Ok(())
    } else {
        Err(XmlError::Malformed(format!(
            "'{}' is not a valid XML name",
            truncate(qname, 50)
        )))
    }
}

/// XML 1.0 (5th edition) `Name` without colons.
fn is_ncname(name: &str) -> bool {
    fn is_start(c: char) -> bool {
        matches!(c,
            'A'..='Z' | '_' | 'a'..='z'
            | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
            | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
            | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
            | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
    }
    fn is_char(c: char) -> bool {
        is_start(c)
            || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
    }
    let mut chars = name.chars();
    chars.next().is_some_and(is_start) && chars.all(is_char)
}

fn unexpected_eof() -> XmlError {
    XmlError::Malformed("unexpected end of document: an element is not closed".into())
}

/// Rejects raw characters outside XML 1.0's `Char` production (C0 controls other than tab,
/// LF, CR, and U+FFFE/U+FFFF), once for the whole body. Surrogates cannot occur in `str`.
fn check_xml_chars(text: &str) -> Result<(), XmlError> {
    let bytes = text.as_bytes();
    let bad = bytes.iter().enumerate().find_map(|(i, &b)| match b {
        b'\t' | b'\n' | b'\r' => None,
        0x00..=0x1F => Some((i, char::from(b))),
        0xEF if bytes.get(i + 1) == Some(&0xBF)
            && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
        {
            let c = if bytes[i + 2] == 0xBE {
                '\u{FFFE}'
            } else {
                '\u{FFFF}'
            };
            Some((i, c))
        }
        _ => None,
    });
    match bad {
        Some((offset, ch)) => Err(XmlError::InvalidChar { ch, offset }),
        None => Ok(()),
    }
}

/// Resolves `&name;`: the five predefined entities and numeric character references, nothing
/// else (no DTD means no other entity can exist, and we never fetch or expand anything).
///
/// Character references to characters XML 1.0 forbids (`&#x1;`) are accepted on purpose: our
/// writer emits them for such characters, and accepting them back is what makes every string
/// round-trip. A literal control character in the body is still rejected.
fn resolve_reference(name: &str) -> Result<char, XmlError> {
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let Some(number) = name.strip_prefix('#') else {
                return Err(XmlError::UndefinedEntity(truncate(name, 50).into_owned()));
            };
            let (digits, radix) = match number.strip_prefix('x') {
                Some(hex) => (hex, 16),
                None => (number, 10),
            };
            // Overflow makes `from_str_radix` fail; leading zeros are allowed, as XML says.
            let valid = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
            let code = valid
                .then(|| u32::from_str_radix(digits, radix).ok())
                .flatten()
                .and_then(char::from_u32);
            match code {
                Some(c) => c,
                None => {
                    return Err(XmlError::Malformed(format!(
                        "invalid character reference '&{};'",
                        truncate(name, 20)
                    )));
                }
            }
        }
    };
    Ok(c)
}

/// An attribute value as XML defines it: references resolved (with the same restrictions as in
/// text), literal tab/CR/LF turned into spaces (CRLF into one), a raw `<` refused.
fn attribute_value(raw: &str) -> Result<Cow<'_, str>, XmlError> {
    const SPECIAL: [char; 5] = ['&', '<', '\t', '\n', '\r'];
    if !raw.contains(SPECIAL) {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(SPECIAL) {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        rest = match rest.as_bytes()[i] {
            b'<' => {
                return Err(XmlError::Malformed(
                    "'<' is not allowed in an attribute value".into(),
                ));
            }
            b'&' => {
                let end = after.find(';').ok_or_else(|| {
                    XmlError::Malformed("unterminated reference in an attribute value".into())
                })?;
                out.push(resolve_reference(&after[..end])?);
                &after[end + 1..]
            }
            b'\r' => {
                out.push(' ');
                after.strip_prefix('\n').unwrap_or(after)
            }
            _ => {
                out.push(' ');
                after
            }
        };
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

fn is_xml_whitespace_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_xml_whitespace(s: &str) -> bool {
    s.chars().all(is_xml_whitespace_char)
}

// ---------------------------------------------------------------------------------------------
// Reading: request DTOs
// ---------------------------------------------------------------------------------------------

/// Reads a flat request DTO into one slot per field, so every request format (JSON, XML, form,
/// query) feeds the same binding and validation code.
///
/// `elements` are the DTO's DataContract member names (the .NET property names, usually
/// PascalCase: `<SessionId>`; ServiceStack's `Authenticate` has a lowercase `<provider>`),
/// matched case-sensitively in the root's namespace, as .NET does. Unlike .NET, which silently drops members that arrive out of contract order, any order
/// is accepted. A slot is `Some(text)` for a present element (`Some("")` when empty) and `None`
/// when absent or `i:nil="true"`; a repeated element keeps its first value. Unknown elements are
/// skipped with their subtree.
pub fn read_fields(
    body: &[u8],
    root: &str,
    namespace: &str,
    elements: &[&str],
) -> Result<Vec<Option<String>>, XmlError> {
    let names = elements;
    let mut values = vec![None; elements.len()];
    let mut seen = vec![false; elements.len()];
    let mut doc = Document::open(body, namespace, root)?;
    while let Some((i, nil)) = doc.next_field(
        root,
        |ns, local| {
            if ns == namespace {
                names.iter().position(|n| *n == local)
            } else {
                None
            }
        },
        Some(&mut seen),
    )? {
        values[i] = doc.read_text(nil, names[i])?;
    }
    doc.finish()?;
    Ok(values)
}

// ---------------------------------------------------------------------------------------------
// Reading: SessionInfo
// ---------------------------------------------------------------------------------------------

/// `SessionInfo`'s members as (namespace, element name), in the order they are written.
const SESSION_FIELDS: &[(&str, &str)] = &[
    (NS_API, "CreatedBy"),
    (NS_API, "DateCreated"),
    (NS_API, "DateLastModified"),
    (NS_API, "Id"),
    (NS_API, "LastModifiedBy"),
    (NS_SESSIONS, "AccountId"),
    (NS_SESSIONS, "AccountName"),
    (NS_SESSIONS, "AnsweredById"),
    (NS_SESSIONS, "AnsweredByName"),
    (NS_SESSIONS, "CallSid"),
    (NS_SESSIONS, "CallState"),
    (NS_SESSIONS, "CallbackNumber"),
    (NS_SESSIONS, "Channel"),
    (NS_SESSIONS, "ConferenceSid"),
    (NS_SESSIONS, "ConsoleData"),
    (NS_SESSIONS, "CustomerBreadcrumb"),
    (NS_SESSIONS, "CustomerId"),
    (NS_SESSIONS, "CustomerName"),
    (NS_SESSIONS, "DateCompleted"),
    (NS_SESSIONS, "Destination"),
    (NS_SESSIONS, "DialState"),
    (NS_SESSIONS, "Direction"),
    (NS_SESSIONS, "DisplayName"),
    (NS_SESSIONS, "Ended"),
    (NS_SESSIONS, "EndpointId"),
    (NS_SESSIONS, "EndpointName"),
    (NS_SESSIONS, "FromAddress"),
    (NS_SESSIONS, "FromName"),
    (NS_SESSIONS, "FromPhoneNumber"),
    (NS_SESSIONS, "HeldByUserId"),
    (NS_SESSIONS, "HoldQueueName"),
    (NS_SESSIONS, "HoldReason"),
    (NS_SESSIONS, "Log"),
    (NS_SESSIONS, "Members"),
    (NS_SESSIONS, "MostRecentParticipantCallSid"),
    (NS_SESSIONS, "Outcome"),
    (NS_SESSIONS, "QueueMemberId"),
    (NS_SESSIONS, "QueueState"),
    (NS_SESSIONS, "RingQueueId"),
    (NS_SESSIONS, "ToAddress"),
    (NS_SESSIONS, "WasMissed"),
];

const MEMBER_FIELDS: &[(&str, &str)] = &[
    (NS_SESSIONS, "ApplicationData"),
    (NS_SESSIONS, "AvatarUrl"),
    (NS_SESSIONS, "CallSid"),
    (NS_SESSIONS, "CallState"),
    (NS_SESSIONS, "DisplayName"),
    (NS_SESSIONS, "EndpointId"),
    (NS_SESSIONS, "Identity"),
    (NS_SESSIONS, "IsOriginalMember"),
    (NS_SESSIONS, "Muted"),
    (NS_SESSIONS, "Role"),
];

const BREADCRUMB_FIELDS: &[(&str, &str)] = &[(NS_CUSTOMERS, "Id"), (NS_CUSTOMERS, "Name")];
const LOG_FIELDS: &[(&str, &str)] = &[(NS_SESSIONS, "Date"), (NS_SESSIONS, "Message")];
const KEY_VALUE_FIELDS: &[(&str, &str)] = &[(NS_ARRAYS, "Key"), (NS_ARRAYS, "Value")];

/// What the reader needs from the dto's `wire_enum!` types (their inherent methods, as a trait
/// so one generic reader serves all of them).
trait WireEnum: Copy {
    fn parse(s: &str) -> Option<Self>;
    fn name(self) -> &'static str;
    fn allowed() -> String;
}

macro_rules! impl_wire_enum {
    ($($t:ty),+ $(,)?) => {$(
        impl WireEnum for $t {
            fn parse(s: &str) -> Option<Self> {
                <$t>::parse(s)
            }
            fn name(self) -> &'static str {
                self.as_str()
            }
            fn allowed() -> String {
                <$t>::allowed()
            }
        }
    )+};
}

impl_wire_enum!(
    SessionDialState,
    SessionCallState,
    SessionQueueStates,
    FlowChannels,
    SessionHoldReasons,
    SessionDirections,
    SessionMemberCallState,
    SessionMemberRoles,
);

fn lookup(table: &'static [(&'static str, &'static str)]) -> impl Fn(&str, &str) -> Option<usize> {
    move |ns, local| table.iter().position(|&(n, l)| n == ns && l == local)
}

/// Reads a `SessionInfo` body: the inverse of [`write_session_info`], for clients that send one
/// and for round-trip tests.
///
/// Accepts members in any order, nil, empty and populated lists. Enums must be spelled exactly
/// as their canonical names (DataContract enums are case-sensitive and never numeric), booleans
/// are `xs:boolean` (`true`/`false`/`1`/`0`). Nil list items are dropped (a Rust `Vec` cannot
/// hold them and .NET never writes them for these types); a repeated dictionary key keeps the
/// last value, like assigning into a `Dictionary`.
pub fn read_session_info(body: &[u8]) -> Result<SessionInfo, XmlError> {
    let mut doc = Document::open(body, NS_SESSIONS, "SessionInfo")?;
    let mut s = SessionInfo::default();
    let mut seen = [false; SESSION_FIELDS.len()];
    while let Some((i, nil)) =
        doc.next_field("SessionInfo", lookup(SESSION_FIELDS), Some(&mut seen))?
    {
        let name = SESSION_FIELDS[i].1;
        match name {
            "CreatedBy" => s.created_by = doc.read_text(nil, name)?,
            "DateCreated" => s.date_created = doc.read_text(nil, name)?,
            "DateLastModified" => s.date_last_modified = doc.read_text(nil, name)?,
            "Id" => s.id = doc.read_text(nil, name)?,
            "LastModifiedBy" => s.last_modified_by = doc.read_text(nil, name)?,
            "AccountId" => s.account_id = doc.read_text(nil, name)?,
            "AccountName" => s.account_name = doc.read_text(nil, name)?,
            "AnsweredById" => s.answered_by_id = doc.read_text(nil, name)?,
            "AnsweredByName" => s.answered_by_name = doc.read_text(nil, name)?,
            "CallSid" => s.call_sid = doc.read_text(nil, name)?,
            "CallState" => s.call_state = doc.read_enum::<SessionCallState>(nil, name)?,
            "CallbackNumber" => s.callback_number = doc.read_text(nil, name)?,
            "Channel" => s.channel = doc.read_enum::<FlowChannels>(nil, name)?,
            "ConferenceSid" => s.conference_sid = doc.read_text(nil, name)?,
            "ConsoleData" => s.console_data = doc.read_text(nil, name)?,
            "CustomerBreadcrumb" => {
                s.customer_breadcrumb = doc.read_list(
                    nil,
                    name,
                    (NS_CUSTOMERS, "CustomerBreadcrumb"),
                    read_breadcrumb,
                )?
            }
            "CustomerId" => s.customer_id = doc.read_text(nil, name)?,
            "CustomerName" => s.customer_name = doc.read_text(nil, name)?,
            "DateCompleted" => s.date_completed = doc.read_text(nil, name)?,
            "Destination" => s.destination = doc.read_text(nil, name)?,
            "DialState" => s.dial_state = doc.read_enum::<SessionDialState>(nil, name)?,
            "Direction" => s.direction = doc.read_enum::<SessionDirections>(nil, name)?,
            "DisplayName" => s.display_name = doc.read_text(nil, name)?,
            "Ended" => s.ended = doc.read_bool(nil, name)?,
            "EndpointId" => s.endpoint_id = doc.read_text(nil, name)?,
            "EndpointName" => s.endpoint_name = doc.read_text(nil, name)?,
            "FromAddress" => s.from_address = doc.read_text(nil, name)?,
            "FromName" => s.from_name = doc.read_text(nil, name)?,
            "FromPhoneNumber" => s.from_phone_number = doc.read_text(nil, name)?,
            "HeldByUserId" => s.held_by_user_id = doc.read_text(nil, name)?,
            "HoldQueueName" => s.hold_queue_name = doc.read_text(nil, name)?,
            "HoldReason" => s.hold_reason = doc.read_enum::<SessionHoldReasons>(nil, name)?,
            "Log" => {
                s.log = doc.read_list(nil, name, (NS_SESSIONS, "SessionLogInfo"), read_log_info)?
            }
            "Members" => {
                s.members =
                    doc.read_list(nil, name, (NS_SESSIONS, "SessionMemberInfo"), read_member)?
            }
            "MostRecentParticipantCallSid" => {
                s.most_recent_participant_call_sid = doc.read_text(nil, name)?
            }
            "Outcome" => s.outcome = doc.read_text(nil, name)?,
            "QueueMemberId" => s.queue_member_id = doc.read_text(nil, name)?,
            "QueueState" => s.queue_state = doc.read_enum::<SessionQueueStates>(nil, name)?,
            "RingQueueId" => s.ring_queue_id = doc.read_text(nil, name)?,
            "ToAddress" => s.to_address = doc.read_text(nil, name)?,
            "WasMissed" => s.was_missed = doc.read_bool(nil, name)?,
            _ => doc.skip_element()?,
        }
    }
    doc.finish()?;
    Ok(s)
}

fn read_breadcrumb(doc: &mut Document<'_>) -> Result<CustomerBreadcrumb, XmlError> {
    let mut b = CustomerBreadcrumb::default();
    let mut seen = [false; BREADCRUMB_FIELDS.len()];
    while let Some((i, nil)) = doc.next_field(
        "CustomerBreadcrumb",
        lookup(BREADCRUMB_FIELDS),
        Some(&mut seen),
    )? {
        match i {
            0 => b.id = doc.read_text(nil, "Id")?,
            _ => b.name = doc.read_text(nil, "Name")?,
        }
    }
    Ok(b)
}

fn read_log_info(doc: &mut Document<'_>) -> Result<SessionLogInfo, XmlError> {
    let mut l = SessionLogInfo::default();
    let mut seen = [false; LOG_FIELDS.len()];
    while let Some((i, nil)) =
        doc.next_field("SessionLogInfo", lookup(LOG_FIELDS), Some(&mut seen))?
    {
        match i {
            0 => l.date = doc.read_text(nil, "Date")?,
            _ => l.message = doc.read_text(nil, "Message")?,
        }
    }
    Ok(l)
}

fn read_member(doc: &mut Document<'_>) -> Result<SessionMemberInfo, XmlError> {
    let mut m = SessionMemberInfo::default();
    let mut seen = [false; MEMBER_FIELDS.len()];
    while let Some((i, nil)) =
        doc.next_field("SessionMemberInfo", lookup(MEMBER_FIELDS), Some(&mut seen))?
    {
        let name = MEMBER_FIELDS[i].1;
        match name {
            "ApplicationData" => {
                m.application_data = doc
                    .read_list(
                        nil,
                        name,
                        (NS_ARRAYS, "KeyValueOfstringstring"),
                        read_key_value,
                    )?
                    .map(into_string_map)
            }
            "AvatarUrl" => m.avatar_url = doc.read_text(nil, name)?,
            "CallSid" => m.call_sid = doc.read_text(nil, name)?,
            "CallState" => m.call_state = doc.read_enum::<SessionMemberCallState>(nil, name)?,
            "DisplayName" => m.display_name = doc.read_text(nil, name)?,
            "EndpointId" => m.endpoint_id = doc.read_text(nil, name)?,
            "Identity" => m.identity = doc.read_text(nil, name)?,
            "IsOriginalMember" => m.is_original_member = doc.read_bool(nil, name)?,
            "Muted" => m.muted = doc.read_bool(nil, name)?,
            "Role" => m.role = doc.read_enum::<SessionMemberRoles>(nil, name)?,
            _ => doc.skip_element()?,
        }
    }
    Ok(m)
}

/// Dictionary semantics for the entries as read: a repeated key replaces the earlier value in
/// place. Indexed by hash so a hostile body with thousands of entries stays linear.
fn into_string_map(entries: Vec<(String, String)>) -> StringMap {
    let mut index: HashMap<String, usize> = HashMap::with_capacity(entries.len());
    let mut map: Vec<(String, String)> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        match index.get(&key) {
            Some(&i) => map[i].1 = value,
            None => {
                index.insert(key.clone(), map.len());
                map.push((key, value));
            }
        }
    }
    StringMap(map)
}

/// One `KeyValueOfstringstring`. A nil value reads as "" (as the JSON reader does); a missing
/// or nil key is an error because a .NET dictionary cannot hold it.
fn read_key_value(doc: &mut Document<'_>) -> Result<(String, String), XmlError> {
    let mut key = None;
    let mut value = None;
    let mut seen = [false; KEY_VALUE_FIELDS.len()];
    while let Some((i, nil)) = doc.next_field(
        "KeyValueOfstringstring",
        lookup(KEY_VALUE_FIELDS),
        Some(&mut seen),
    )? {
        match i {
            0 => key = doc.read_text(nil, "Key")?,
            _ => value = doc.read_text(nil, "Value")?,
        }
    }
    let key = key.ok_or_else(|| XmlError::MissingElement {
        parent: "ApplicationData".into(),
        name: "Key".into(),
    })?;
    Ok((key, value.unwrap_or_default()))
}

impl<'a> Document<'a> {
    /// A list member: `None` when nil, otherwise its items (children other than `item` are
    /// skipped, nil items dropped).
    fn read_list<T>(
        &mut self,
        nil: bool,
        field: &str,
        item: (&str, &str),
        read_item: fn(&mut Self) -> Result<T, XmlError>,
    ) -> Result<Option<Vec<T>>, XmlError> {
        if nil {
            self.skip_element()?;
            return Ok(None);
        }
        let mut items = Vec::new();
        let is_item = |ns: &str, local: &str| (ns == item.0 && local == item.1).then_some(0);
        while let Some((_, item_nil)) = self.next_field(field, is_item, None)? {
            if item_nil {
                self.skip_element()?;
            } else {
                items.push(read_item(self)?);
            }
        }
        Ok(Some(items))
    }

    /// An enum member, by exact canonical name (surrounding XML whitespace ignored, as .NET does).
    fn read_enum<T: WireEnum>(&mut self, nil: bool, field: &str) -> Result<T, XmlError> {
        let text = self.read_required(nil, field)?;
        let trimmed = text.trim_matches(is_xml_whitespace_char);
        // `parse` also takes other casings and numbers (ServiceStack's JSON does); DataContract
        // XML does not, so only the canonical spelling passes.
        match T::parse(trimmed) {
            Some(v) if v.name() == trimmed => Ok(v),
            _ => Err(XmlError::InvalidValue {
                field: field.to_owned(),
                value: text,
                expected: format!("one of {}", T::allowed()),
            }),
        }
    }

    /// An `xs:boolean` member.
    fn read_bool(&mut self, nil: bool, field: &str) -> Result<bool, XmlError> {
        let text = self.read_required(nil, field)?;
        match text.trim_matches(is_xml_whitespace_char) {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(XmlError::InvalidValue {
                field: field.to_owned(),
                value: text,
                expected: "true or false".into(),
            }),
        }
    }

    fn read_required(&mut self, nil: bool, field: &str) -> Result<String, XmlError> {
        self.read_text(nil, field)?
            .ok_or_else(|| XmlError::NullValue {
                field: field.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEED_RESPONSE: &str = include_str!("../../tests/golden/session_info_seed.xml");
    const SEED_REQUEST: &[u8] = include_bytes!("../../tests/golden/patch_session_request_seed.xml");
    const PATCH_FIELDS: &[&str] = &[
        "SessionId",
        "ConsoleData",
        "CallState",
        "HoldReason",
        "QueueState",
    ];
    const PATCH_OPEN: &str = r#"<PatchSession xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions">"#;

    fn written(s: &SessionInfo) -> Vec<u8> {
        let mut out = Vec::new();
        write_session_info(&mut out, s);
        out
    }

    fn written_error(status: &ResponseStatus) -> Vec<u8> {
        let mut out = Vec::new();
        write_error_response(&mut out, status);
        out
    }

    /// Byte equality with a readable failure: the first differing offset and context.
    fn assert_same_bytes(actual: &[u8], expected: &[u8]) {
        if actual == expected {
            return;
        }
        let at = actual
            .iter()
            .zip(expected)
            .position(|(a, e)| a != e)
            .unwrap_or(actual.len().min(expected.len()));
        let from = at.saturating_sub(60);
        panic!(
            "outputs differ at byte {at}\n  actual: …{}…\nexpected: …{}…",
            String::from_utf8_lossy(&actual[from..(at + 60).min(actual.len())]),
            String::from_utf8_lossy(&expected[from..(at + 60).min(expected.len())]),
        );
    }

    fn patch(body: &str) -> Vec<u8> {
        format!("{PATCH_OPEN}{body}</PatchSession>").into_bytes()
    }

    fn read_patch(body: &[u8]) -> Result<Vec<Option<String>>, XmlError> {
        read_fields(body, "PatchSession", NS_SESSIONS, PATCH_FIELDS)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    /// The value the seed page's sample response shows: every string "String", every enum its
    /// first member, every bool false, one item in each list.
    fn seed_session() -> SessionInfo {
        let s = || some("String");
        SessionInfo {
            id: s(),
            date_created: s(),
            date_last_modified: s(),
            created_by: s(),
            last_modified_by: s(),
            dial_state: SessionDialState::None,
            call_state: SessionCallState::Disconnected,
            queue_state: SessionQueueStates::None,
            account_id: s(),
            account_name: s(),
            customer_id: s(),
            customer_breadcrumb: Some(vec![CustomerBreadcrumb { id: s(), name: s() }]),
            customer_name: s(),
            endpoint_id: s(),
            endpoint_name: s(),
            date_completed: s(),
            destination: s(),
            to_address: s(),
            from_address: s(),
            from_name: s(),
            answered_by_name: s(),
            queue_member_id: s(),
            channel: FlowChannels::Voice,
            ended: false,
            outcome: s(),
            call_sid: s(),
            console_data: s(),
            hold_queue_name: s(),
            held_by_user_id: s(),
            hold_reason: SessionHoldReasons::None,
            conference_sid: s(),
            display_name: s(),
            log: Some(vec![SessionLogInfo {
                date: s(),
                message: s(),
            }]),
            members: Some(vec![SessionMemberInfo {
                identity: s(),
                endpoint_id: s(),
                display_name: s(),
                is_original_member: false,
                avatar_url: s(),
                application_data: Some(StringMap(vec![("String".into(), "String".into())])),
                call_state: SessionMemberCallState::None,
                role: SessionMemberRoles::None,
                call_sid: s(),
                muted: false,
            }]),
            callback_number: s(),
            answered_by_id: s(),
            direction: SessionDirections::Incoming,
            from_phone_number: s(),
            most_recent_participant_call_sid: s(),
            was_missed: false,
            ring_queue_id: s(),
        }
    }

    fn empty_lists_session() -> SessionInfo {
        SessionInfo {
            id: some("s1"),
            call_state: SessionCallState::Connected,
            direction: SessionDirections::Outgoing,
            ended: true,
            was_missed: true,
            customer_breadcrumb: Some(vec![]),
            log: Some(vec![]),
            members: Some(vec![]),
            ..SessionInfo::default()
        }
    }

    fn members_session() -> SessionInfo {
        SessionInfo {
            date_created: some(""),
            call_state: SessionCallState::Hold,
            channel: FlowChannels::Chat,
            console_data: some(""),
            customer_breadcrumb: Some(vec![
                CustomerBreadcrumb {
                    id: some("c1"),
                    name: None,
                },
                CustomerBreadcrumb {
                    id: some(""),
                    name: some("Sub"),
                },
            ]),
            dial_state: SessionDialState::Active,
            hold_reason: SessionHoldReasons::Transferring,
            log: Some(vec![SessionLogInfo {
                date: None,
                message: some(""),
            }]),
            members: Some(vec![
                SessionMemberInfo {
                    identity: some(""),
                    display_name: some("Agent Smith"),
                    is_original_member: true,
                    application_data: Some(StringMap(vec![])),
                    call_state: SessionMemberCallState::Connected,
                    role: SessionMemberRoles::Agent,
                    call_sid: some("CA1"),
                    muted: true,
                    ..SessionMemberInfo::default()
                },
                SessionMemberInfo::default(),
            ]),
            queue_state: SessionQueueStates::Queued,
            ..SessionInfo::default()
        }
    }

    fn escaping_session() -> SessionInfo {
        SessionInfo {
            created_by: some("a>b"),
            account_name: some("<tag> & \"quoted\" 'apos'"),
            console_data: some("line1\r\nline2\nline3\ttab\rend"),
            display_name: some("Zoë 東京 🚀"),
            outcome: some("ctrl\u{1}x\u{1F}y\u{FFFE}z\u{0}"),
            customer_breadcrumb: Some(vec![CustomerBreadcrumb {
                id: some("<1>"),
                name: some("A&B"),
            }]),
            members: Some(vec![SessionMemberInfo {
                application_data: Some(StringMap(vec![
                    ("<k>".into(), "a&b\"c".into()),
                    ("zoë".into(), String::new()),
                ])),
                ..SessionMemberInfo::default()
            }]),
            ..SessionInfo::default()
        }
    }

    fn two_errors_status() -> ResponseStatus {
        ResponseStatus {
            error_code: "NotEmpty".into(),
            message: "'Session Id' must not be empty.".into(),
            errors: vec![
                ResponseError {
                    error_code: "NotEmpty".into(),
                    field_name: "SessionId".into(),
                    message: "'Session Id' must not be empty.".into(),
                },
                ResponseError {
                    error_code: "SerializationException".into(),
                    field_name: "CallState".into(),
                    message: "'Bogus <x> & \"y\"' is an Invalid value for 'CallState'".into(),
                },
            ],
        }
    }

    // ----- writing --------------------------------------------------------------------------

    #[test]
    fn seed_session_serialises_to_the_seed_sample_response() {
        let unindented: String = SEED_RESPONSE.lines().map(str::trim).collect();
        let mut expected = XML_DECLARATION.to_vec();
        expected.extend_from_slice(unindented.as_bytes());

        let out = written(&seed_session());

        assert!(out.starts_with(b"<?xml version=\"1.0\" encoding=\"utf-8\"?><SessionInfo "));
        assert_same_bytes(&out, &expected);
    }

    #[test]
    fn all_null_session_matches_golden() {
        assert_same_bytes(
            &written(&SessionInfo::default()),
            include_bytes!("../../tests/golden/session_info_all_null.xml"),
        );
    }

    #[test]
    fn empty_lists_match_golden() {
        assert_same_bytes(
            &written(&empty_lists_session()),
            include_bytes!("../../tests/golden/session_info_empty_lists.xml"),
        );
    }

    #[test]
    fn members_breadcrumbs_and_empty_strings_match_golden() {
        assert_same_bytes(
            &written(&members_session()),
            include_bytes!("../../tests/golden/session_info_members.xml"),
        );
    }

    #[test]
    fn escaping_matches_golden() {
        assert_same_bytes(
            &written(&escaping_session()),
            include_bytes!("../../tests/golden/session_info_escaping.xml"),
        );
    }

    #[test]
    fn error_response_with_two_field_errors_matches_golden() {
        assert_same_bytes(
            &written_error(&two_errors_status()),
            include_bytes!("../../tests/golden/error_response_two_errors.xml"),
        );
    }

    #[test]
    fn error_response_without_field_errors_matches_golden() {
        let status = ResponseStatus {
            error_code: "NotFound".into(),
            message: "Session 'abc' was not found".into(),
            errors: vec![],
        };
        assert_same_bytes(
            &written_error(&status),
            include_bytes!("../../tests/golden/error_response_no_errors.xml"),
        );
    }

    #[test]
    fn writer_appends_to_existing_buffer_contents() {
        let mut out = b"prefix".to_vec();
        write_session_info(&mut out, &SessionInfo::default());
        assert!(out.starts_with(b"prefix<?xml"));
    }

    #[test]
    fn member_tables_are_in_ordinal_order() {
        fn sorted(names: &[(&str, &str)]) -> bool {
            names
                .windows(2)
                .all(|w| w[0].1.as_bytes() < w[1].1.as_bytes())
        }
        assert!(sorted(&SESSION_FIELDS[..5]), "EntityInfo members");
        assert!(sorted(&SESSION_FIELDS[5..]), "SessionInfo members");
        assert!(sorted(MEMBER_FIELDS));
        assert!(SESSION_FIELDS[..5].iter().all(|(ns, _)| *ns == NS_API));
        assert!(SESSION_FIELDS[5..].iter().all(|(ns, _)| *ns == NS_SESSIONS));
    }

    #[test]
    fn text_escaping_covers_every_special_character() {
        let mut out = Vec::new();
        escape_text(
            &mut out,
            "a&b<c>d\"e'f\rg\nh\ti\u{0}\u{8}\u{B}\u{C}\u{E}\u{1F}\u{7F}\u{FFFD}\u{FFFE}\u{FFFF}é",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a&amp;b&lt;c&gt;d\"e'f&#xD;g\nh\ti&#x0;&#x8;&#xB;&#xC;&#xE;&#x1F;\u{7F}\u{FFFD}&#xFFFE;&#xFFFF;é"
        );
    }

    // ----- read_fields ----------------------------------------------------------------------

    #[test]
    fn reads_the_seed_sample_request_verbatim() {
        let values = read_patch(SEED_REQUEST).unwrap();
        assert_eq!(
            values,
            vec![
                some("String"),
                some("String"),
                some("Disconnected"),
                some("None"),
                some("None")
            ]
        );
    }

    #[test]
    fn reads_fields_in_any_order_with_a_declaration() {
        let mut body = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>".to_vec();
        body.extend(patch(
            "<QueueState>Queued</QueueState><SessionId>s1</SessionId><CallState>Hold</CallState>",
        ));
        assert_eq!(
            read_patch(&body).unwrap(),
            vec![some("s1"), None, some("Hold"), None, some("Queued")]
        );
    }

    #[test]
    fn nil_reads_as_none_and_empty_as_empty_string() {
        let body = patch(
            r#"<SessionId>s1</SessionId><ConsoleData i:nil="true" /><CallState></CallState><HoldReason/><QueueState i:nil="true">ignored</QueueState>"#,
        );
        assert_eq!(
            read_patch(&body).unwrap(),
            vec![some("s1"), None, some(""), some(""), None]
        );
    }

    #[test]
    fn nil_is_recognised_by_namespace_not_by_prefix() {
        let body = br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><ConsoleData xsi:nil="1" /><SessionId x:nil="true" xmlns:x="urn:other">a</SessionId></PatchSession>"#;
        assert_eq!(
            read_patch(body).unwrap(),
            vec![some("a"), None, None, None, None]
        );
    }

    #[test]
    fn unknown_elements_are_skipped_with_their_subtree() {
        let body = patch(
            r#"<Unknown><SessionId>wrong</SessionId><Deeper><X i:nil="true"/></Deeper></Unknown><sessionId>wrong case</sessionId><SessionId xmlns="urn:elsewhere">wrong namespace</SessionId><SessionId>right</SessionId><Empty/>"#,
        );
        assert_eq!(
            read_patch(&body).unwrap(),
            vec![some("right"), None, None, None, None]
        );
    }

    #[test]
    fn a_repeated_element_keeps_its_first_value() {
        let body = patch("<SessionId>first</SessionId><SessionId>second</SessionId>");
        assert_eq!(read_patch(&body).unwrap()[0], some("first"));
    }

    #[test]
    fn text_keeps_whitespace_and_resolves_references_cdata_and_line_ends() {
        let body = patch(
            "<ConsoleData>  a &amp; &lt;b&gt; &quot;&apos; &#65;&#x42;&#x1F680;&#x0000000000043; <![CDATA[<raw & cdata>]]> x\r\ny\rz<!-- note --> </ConsoleData>",
        );
        assert_eq!(
            read_patch(&body).unwrap()[1],
            some("  a & <b> \"' AB🚀C <raw & cdata> x\ny\nz ")
        );
    }

    #[test]
    fn a_self_closed_root_has_no_fields() {
        let body = br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"/>"#;
        assert_eq!(read_patch(body).unwrap(), vec![None; 5]);
    }

    #[test]
    fn prefixed_root_and_fields_are_accepted() {
        let body = br#"<s:PatchSession xmlns:s="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><s:SessionId>p</s:SessionId><SessionId>no namespace</SessionId></s:PatchSession>"#;
        assert_eq!(read_patch(body).unwrap()[0], some("p"));
    }

    #[test]
    fn wrong_root_name_is_rejected_naming_both() {
        let body =
            br#"<GetSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"/>"#;
        let err = read_patch(body).unwrap_err();
        assert!(
            matches!(err, XmlError::WrongRoot { ref found_name, .. } if found_name == "GetSession")
        );
        let message = err.to_string();
        assert!(
            message.contains("<PatchSession>") && message.contains("<GetSession>"),
            "{message}"
        );
    }

    #[test]
    fn wrong_root_namespace_is_rejected() {
        let body = br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api"><SessionId>a</SessionId></PatchSession>"#;
        let err = read_patch(body).unwrap_err();
        assert!(
            matches!(err, XmlError::WrongRoot { ref found_namespace, .. } if found_namespace == NS_API)
        );
        assert!(err.to_string().contains(NS_SESSIONS));

        let no_namespace = b"<PatchSession><SessionId>a</SessionId></PatchSession>";
        assert!(matches!(
            read_patch(no_namespace),
            Err(XmlError::WrongRoot { .. })
        ));
    }

    #[test]
    fn doctype_is_rejected() {
        let mut body = b"<!DOCTYPE PatchSession>".to_vec();
        body.extend(patch("<SessionId>a</SessionId>"));
        let err = read_patch(&body).unwrap_err();
        assert_eq!(err, XmlError::DocType);
        assert_eq!(err.to_string(), "XML DOCTYPE declarations are not allowed");
    }

    #[test]
    fn entity_declarations_are_rejected() {
        let mut body = br#"<!DOCTYPE PatchSession [<!ENTITY e "expanded">]>"#.to_vec();
        body.extend(patch("<SessionId>&e;</SessionId>"));
        assert_eq!(read_patch(&body).unwrap_err(), XmlError::EntityDeclaration);

        // Outside a DOCTYPE an entity declaration is not even well-formed.
        let stray = patch(r#"<!ENTITY e "expanded"><SessionId>a</SessionId>"#);
        assert!(read_patch(&stray).is_err());
    }

    #[test]
    fn billion_laughs_is_rejected_without_expansion() {
        let body = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><ConsoleData>&lol9;</ConsoleData></PatchSession>"#;
        assert_eq!(read_patch(body).unwrap_err(), XmlError::EntityDeclaration);
    }

    #[test]
    fn external_entities_are_rejected_without_fetching() {
        let body = br#"<?xml version="1.0"?><!DOCTYPE PatchSession [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><ConsoleData>&xxe;</ConsoleData></PatchSession>"#;
        assert_eq!(read_patch(body).unwrap_err(), XmlError::EntityDeclaration);
    }

    #[test]
    fn undefined_entities_are_rejected_in_text_and_attributes() {
        let err = read_patch(&patch("<ConsoleData>&foo;</ConsoleData>")).unwrap_err();
        assert_eq!(err, XmlError::UndefinedEntity("foo".into()));
        assert!(err.to_string().contains("&foo;"));

        let in_attribute = patch(r#"<ConsoleData i:nil="&foo;">a</ConsoleData>"#);
        assert_eq!(
            read_patch(&in_attribute).unwrap_err(),
            XmlError::UndefinedEntity("foo".into())
        );

        let in_skipped_element = patch("<Unknown>&foo;</Unknown>");
        assert_eq!(
            read_patch(&in_skipped_element).unwrap_err(),
            XmlError::UndefinedEntity("foo".into())
        );
    }

    #[test]
    fn bad_character_references_are_rejected() {
        for bad in [
            "&#xD800;",
            "&#x110000;",
            "&#;",
            "&#x;",
            "&#X41;",
            "&#x+41;",
            "&#12a;",
        ] {
            let body = patch(&format!("<ConsoleData>{bad}</ConsoleData>"));
            assert!(
                matches!(read_patch(&body), Err(XmlError::Malformed(_))),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn processing_instructions_are_rejected() {
        let body = patch("<SessionId>a</SessionId><?foo bar?>");
        assert_eq!(
            read_patch(&body).unwrap_err(),
            XmlError::ProcessingInstruction("foo".into())
        );

        let mut before_root = b"<?xml-stylesheet href=\"x.xsl\"?>".to_vec();
        before_root.extend(patch(""));
        assert!(matches!(
            read_patch(&before_root),
            Err(XmlError::ProcessingInstruction(_))
        ));
    }

    #[test]
    fn the_declaration_must_come_first() {
        let mut body = b" <?xml version=\"1.0\"?>".to_vec();
        body.extend(patch(""));
        assert_eq!(
            read_patch(&body).unwrap_err(),
            XmlError::MisplacedDeclaration
        );

        let inside = patch("<?xml version=\"1.0\"?>");
        assert!(read_patch(&inside).is_err());
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_rejected() {
        let depth = 1000;
        let body = patch(&format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth)));
        assert_eq!(read_patch(&body).unwrap_err(), XmlError::TooDeep);

        // Exactly at the limit is fine: the root plus 31 levels.
        let ok = patch(&format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH - 1),
            "</a>".repeat(MAX_DEPTH - 1)
        ));
        assert!(read_patch(&ok).is_ok());
        let over = patch(&format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH),
            "</a>".repeat(MAX_DEPTH)
        ));
        assert_eq!(read_patch(&over).unwrap_err(), XmlError::TooDeep);
    }

    #[test]
    fn overlong_element_names_are_rejected() {
        let name = "N".repeat(MAX_NAME_LEN + 1);
        let body = patch(&format!("<{name}/>"));
        assert_eq!(read_patch(&body).unwrap_err(), XmlError::NameTooLong);
        let fits = "N".repeat(MAX_NAME_LEN);
        assert!(read_patch(&patch(&format!("<{fits}/>"))).is_ok());
    }

    #[test]
    fn too_many_namespace_declarations_are_rejected() {
        let decls: String = (0..=MAX_NAMESPACE_BINDINGS)
            .map(|i| format!(" xmlns:p{i}=\"urn:{i}\""))
            .collect();
        let body = patch(&format!("<X{decls}/>"));
        assert_eq!(read_patch(&body).unwrap_err(), XmlError::TooManyNamespaces);
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let mut body = patch("<ConsoleData>ab</ConsoleData>");
        let at = body.len() - 30;
        body[at] = 0xFF;
        assert_eq!(
            read_patch(&body).unwrap_err(),
            XmlError::InvalidUtf8 { offset: at }
        );
    }

    #[test]
    fn raw_control_characters_are_rejected_but_references_to_them_are_not() {
        let raw = patch("<ConsoleData>a\u{1}b</ConsoleData>");
        assert!(matches!(
            read_patch(&raw),
            Err(XmlError::InvalidChar { ch: '\u{1}', .. })
        ));
        let raw_fffe = patch("<ConsoleData>\u{FFFE}</ConsoleData>");
        assert!(matches!(
            read_patch(&raw_fffe),
            Err(XmlError::InvalidChar { ch: '\u{FFFE}', .. })
        ));

        let referenced = patch("<ConsoleData>a&#x1;b&#0;&#xFFFF;</ConsoleData>");
        assert_eq!(
            read_patch(&referenced).unwrap()[1],
            some("a\u{1}b\u{0}\u{FFFF}")
        );
    }

    #[test]
    fn content_after_the_root_is_rejected() {
        let mut garbage = patch("");
        garbage.extend_from_slice(b"garbage");
        assert_eq!(read_patch(&garbage).unwrap_err(), XmlError::TrailingContent);

        let mut two_roots = patch("");
        two_roots.extend(patch(""));
        assert_eq!(read_patch(&two_roots).unwrap_err(), XmlError::MultipleRoots);

        let mut allowed = patch("<SessionId>a</SessionId>");
        allowed.extend_from_slice(b"\r\n<!-- trailing comment -->\n");
        assert_eq!(read_patch(&allowed).unwrap()[0], some("a"));
    }

    #[test]
    fn a_utf8_bom_is_accepted() {
        let mut body = b"\xEF\xBB\xBF".to_vec();
        body.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>");
        body.extend_from_slice(SEED_REQUEST);
        assert_eq!(read_patch(&body).unwrap()[0], some("String"));

        let mut two_boms = b"\xEF\xBB\xBF\xEF\xBB\xBF".to_vec();
        two_boms.extend_from_slice(SEED_REQUEST);
        assert_eq!(read_patch(&two_boms).unwrap_err(), XmlError::TextBeforeRoot);

        let mut without_declaration = b"\xEF\xBB\xBF".to_vec();
        without_declaration.extend_from_slice(SEED_REQUEST);
        assert_eq!(
            read_patch(&without_declaration).unwrap()[2],
            some("Disconnected")
        );
    }

    #[test]
    fn mixed_content_in_a_scalar_names_the_field() {
        let body = patch("<ConsoleData>text<b>bold</b></ConsoleData>");
        let err = read_patch(&body).unwrap_err();
        assert_eq!(
            err,
            XmlError::MixedContent {
                field: "ConsoleData".into()
            }
        );
        assert_eq!(err.field(), Some("ConsoleData"));
        assert!(err.to_string().contains("<ConsoleData>"));
    }

    #[test]
    fn text_directly_inside_the_root_is_rejected() {
        let body = patch("stray<SessionId>a</SessionId>");
        assert_eq!(
            read_patch(&body).unwrap_err(),
            XmlError::UnexpectedText {
                parent: "PatchSession".into()
            }
        );
    }

    #[test]
    fn malformed_documents_are_rejected() {
        let cases: &[&[u8]] = &[
            b"",
            b"   ",
            b"<!-- only a comment -->",
            b"not xml",
            br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions">"#,
            br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><SessionId>a</ConsoleData></PatchSession>"#,
            br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><SessionId a>x</SessionId></PatchSession>"#,
            br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions" xmlns="again"/>"#,
            br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><SessionId>a & b</SessionId></PatchSession>"#,
            br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><SessionId x="<">a</SessionId></PatchSession>"#,
            br#"<p:PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"/>"#,
            br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><q:X/></PatchSession>"#,
            br#"</PatchSession>"#,
            br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><1bad/></PatchSession>"#,
            br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><a:b:c xmlns:a="urn:a"/></PatchSession>"#,
            br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><X 1a="v"/></PatchSession>"#,
            br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><SessionId>a]]>b</SessionId></PatchSession>"#,
            br#"<PatchSession xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions"><!-- a -- b --></PatchSession>"#,
        ];
        for body in cases {
            assert!(
                read_patch(body).is_err(),
                "accepted: {}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(read_patch(b"").unwrap_err(), XmlError::NoRoot);
        assert_eq!(
            read_patch(br#"<q:X xmlns="urn:x"/>"#).unwrap_err(),
            XmlError::UnboundPrefix("q".into())
        );
    }

    // ----- read_session_info ----------------------------------------------------------------

    #[test]
    fn reads_the_seed_sample_response_with_its_indentation() {
        assert_eq!(
            read_session_info(SEED_RESPONSE.as_bytes()).unwrap(),
            seed_session()
        );
    }

    #[test]
    fn golden_files_read_back_to_their_values() {
        let cases: [(&[u8], SessionInfo); 4] = [
            (
                include_bytes!("../../tests/golden/session_info_all_null.xml"),
                SessionInfo::default(),
            ),
            (
                include_bytes!("../../tests/golden/session_info_empty_lists.xml"),
                empty_lists_session(),
            ),
            (
                include_bytes!("../../tests/golden/session_info_members.xml"),
                members_session(),
            ),
            (
                include_bytes!("../../tests/golden/session_info_escaping.xml"),
                escaping_session(),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(read_session_info(body).unwrap(), expected);
        }
    }

    #[test]
    fn session_info_members_may_come_in_any_order() {
        let body = br#"<SessionInfo xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions">
  <WasMissed>1</WasMissed>
  <Members><SessionMemberInfo><Role>Caller</Role><ApplicationData xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays"><a:KeyValueOfstringstring><a:Value>v</a:Value><a:Key>k</a:Key></a:KeyValueOfstringstring><a:KeyValueOfstringstring><a:Key>k</a:Key><a:Value>v2</a:Value></a:KeyValueOfstringstring><a:KeyValueOfstringstring><a:Key>n</a:Key><a:Value i:nil="true"/></a:KeyValueOfstringstring></ApplicationData><Muted>true</Muted></SessionMemberInfo></Members>
  <Id xmlns="http://schemas.datacontract.org/2004/07/Voice.Api">abc</Id>
  <Id>not the EntityInfo member: wrong namespace</Id>
  <CallState>Ringing</CallState>
  <CustomerBreadcrumb xmlns:c="http://schemas.datacontract.org/2004/07/Voice.Api.Customers"><c:CustomerBreadcrumb><c:Name>n</c:Name></c:CustomerBreadcrumb><c:CustomerBreadcrumb i:nil="true"/></CustomerBreadcrumb>
  <Ended> false </Ended>
</SessionInfo>"#;
        let expected = SessionInfo {
            id: some("abc"),
            call_state: SessionCallState::Ringing,
            was_missed: true,
            customer_breadcrumb: Some(vec![CustomerBreadcrumb {
                id: None,
                name: some("n"),
            }]),
            members: Some(vec![SessionMemberInfo {
                role: SessionMemberRoles::Caller,
                muted: true,
                application_data: Some(StringMap(vec![
                    ("k".into(), "v2".into()),
                    ("n".into(), String::new()),
                ])),
                ..SessionMemberInfo::default()
            }]),
            ..SessionInfo::default()
        };
        assert_eq!(read_session_info(body).unwrap(), expected);
    }

    fn session_with(member: &str) -> Vec<u8> {
        format!(
            r#"<SessionInfo xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions">{member}</SessionInfo>"#
        )
        .into_bytes()
    }

    #[test]
    fn enums_must_use_their_canonical_name() {
        for bad in ["connected", "CONNECTED", "2", "Bogus", ""] {
            let err = read_session_info(&session_with(&format!("<CallState>{bad}</CallState>")))
                .unwrap_err();
            assert!(
                matches!(err, XmlError::InvalidValue { ref field, .. } if field == "CallState"),
                "{bad}: {err}"
            );
            assert!(
                err.to_string()
                    .contains("Disconnected, Ringing, Connected, Hold, Passive")
            );
        }
        let ok = read_session_info(&session_with("<CallState> Connected </CallState>")).unwrap();
        assert_eq!(ok.call_state, SessionCallState::Connected);
    }

    #[test]
    fn booleans_accept_xs_boolean_spellings_only() {
        for (text, value) in [("true", true), ("1", true), ("false", false), ("0", false)] {
            let s = read_session_info(&session_with(&format!("<Ended>{text}</Ended>"))).unwrap();
            assert_eq!(s.ended, value, "{text}");
        }
        for bad in ["True", "yes", ""] {
            assert!(matches!(
                read_session_info(&session_with(&format!("<Ended>{bad}</Ended>"))),
                Err(XmlError::InvalidValue { .. })
            ));
        }
    }

    #[test]
    fn value_members_cannot_be_nil() {
        let err = read_session_info(&session_with(r#"<Channel i:nil="true"/>"#)).unwrap_err();
        assert_eq!(
            err,
            XmlError::NullValue {
                field: "Channel".into()
            }
        );
    }

    #[test]
    fn dictionary_entries_need_a_key() {
        let body = session_with(
            r#"<Members><SessionMemberInfo><ApplicationData xmlns:d4p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays"><d4p1:KeyValueOfstringstring><d4p1:Value>v</d4p1:Value></d4p1:KeyValueOfstringstring></ApplicationData></SessionMemberInfo></Members>"#,
        );
        assert!(matches!(
            read_session_info(&body),
            Err(XmlError::MissingElement { .. })
        ));
    }

    #[test]
    fn session_info_reader_shares_the_security_checks() {
        let mut body = b"<!DOCTYPE SessionInfo>".to_vec();
        body.extend(session_with(""));
        assert_eq!(read_session_info(&body).unwrap_err(), XmlError::DocType);
        let nested = session_with(&format!("{}{}", "<Log>".repeat(40), "</Log>".repeat(40)));
        assert_eq!(read_session_info(&nested).unwrap_err(), XmlError::TooDeep);
    }

    // ----- properties -----------------------------------------------------------------------

    /// Any string, biased towards the characters that need escaping.
    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter),
            "[ a<>&\"'\r\n\t\u{0}\u{1}\u{FFFE}\u{FFFF}é東🚀]{0,10}",
        ]
    }

    fn opt_text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(any_text())
    }

    /// A `Dictionary<string,string>`: keys are unique, as .NET guarantees.
    fn any_map() -> impl Strategy<Value = StringMap> {
        proptest::collection::vec((any_text(), any_text()), 0..4).prop_map(|entries| {
            let mut map: Vec<(String, String)> = Vec::new();
            for (k, v) in entries {
                if !map.iter().any(|(ek, _)| *ek == k) {
                    map.push((k, v));
                }
            }
            StringMap(map)
        })
    }

    fn any_member() -> impl Strategy<Value = SessionMemberInfo> {
        (
            (opt_text(), opt_text(), opt_text(), opt_text(), opt_text()),
            (any::<bool>(), any::<bool>()),
            proptest::option::of(any_map()),
            proptest::sample::select(SessionMemberCallState::ALL),
            proptest::sample::select(SessionMemberRoles::ALL),
        )
            .prop_map(
                |(
                    (identity, endpoint_id, display_name, avatar_url, call_sid),
                    (is_original_member, muted),
                    application_data,
                    call_state,
                    role,
                )| SessionMemberInfo {
                    identity,
                    endpoint_id,
                    display_name,
                    is_original_member,
                    avatar_url,
                    application_data,
                    call_state,
                    role,
                    call_sid,
                    muted,
                },
            )
    }

    fn any_session() -> impl Strategy<Value = SessionInfo> {
        let breadcrumb =
            (opt_text(), opt_text()).prop_map(|(id, name)| CustomerBreadcrumb { id, name });
        let log =
            (opt_text(), opt_text()).prop_map(|(date, message)| SessionLogInfo { date, message });
        (
            proptest::collection::vec(opt_text(), 30),
            (
                proptest::sample::select(SessionDialState::ALL),
                proptest::sample::select(SessionCallState::ALL),
                proptest::sample::select(SessionQueueStates::ALL),
                proptest::sample::select(FlowChannels::ALL),
                proptest::sample::select(SessionHoldReasons::ALL),
                proptest::sample::select(SessionDirections::ALL),
            ),
            (any::<bool>(), any::<bool>()),
            proptest::option::of(proptest::collection::vec(breadcrumb, 0..3)),
            proptest::option::of(proptest::collection::vec(log, 0..3)),
            proptest::option::of(proptest::collection::vec(any_member(), 0..3)),
        )
            .prop_map(
                |(
                    strings,
                    (dial_state, call_state, queue_state, channel, hold_reason, direction),
                    (ended, was_missed),
                    customer_breadcrumb,
                    log,
                    members,
                )| {
                    let mut strings = strings.into_iter();
                    let mut next = || strings.next().expect("30 strings");
                    SessionInfo {
                        id: next(),
                        date_created: next(),
                        date_last_modified: next(),
                        created_by: next(),
                        last_modified_by: next(),
                        dial_state,
                        call_state,
                        queue_state,
                        account_id: next(),
                        account_name: next(),
                        customer_id: next(),
                        customer_breadcrumb,
                        customer_name: next(),
                        endpoint_id: next(),
                        endpoint_name: next(),
                        date_completed: next(),
                        destination: next(),
                        to_address: next(),
                        from_address: next(),
                        from_name: next(),
                        answered_by_name: next(),
                        queue_member_id: next(),
                        channel,
                        ended,
                        outcome: next(),
                        call_sid: next(),
                        console_data: next(),
                        hold_queue_name: next(),
                        held_by_user_id: next(),
                        hold_reason,
                        conference_sid: next(),
                        display_name: next(),
                        log,
                        members,
                        callback_number: next(),
                        answered_by_id: next(),
                        direction,
                        from_phone_number: next(),
                        most_recent_participant_call_sid: next(),
                        was_missed,
                        ring_queue_id: next(),
                    }
                },
            )
    }

    proptest! {
        /// Every value survives write → read exactly, including strings with characters XML 1.0
        /// cannot carry raw (the writer emits character references the reader accepts back).
        #[test]
        fn session_info_round_trips(s in any_session()) {
            let out = written(&s);
            prop_assert_eq!(read_session_info(&out).unwrap(), s);
        }

        #[test]
        fn request_fields_round_trip(value in any_text(), nil in any::<bool>()) {
            let mut element = Vec::new();
            text_element(&mut element, "ConsoleData", "", (!nil).then_some(value.as_str()));
            let body = patch(std::str::from_utf8(&element).unwrap());
            prop_assert_eq!(read_patch(&body).unwrap()[1].clone(), (!nil).then_some(value));
        }

        /// Garbage and corrupted requests produce errors, never panics.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = read_patch(&bytes);
            let _ = read_session_info(&bytes);
        }

        #[test]
        fn corrupted_requests_never_panic(
            edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..6)
        ) {
            let mut body = SEED_REQUEST.to_vec();
            for (at, byte) in edits {
                let i = at.index(body.len());
                body[i] = byte;
            }
            let _ = read_patch(&body);
        }
    }
}
