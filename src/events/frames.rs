//! Server Events frames as ServiceStack writes them: `id: N` then `data: selector body` on one
//! line each, and a blank line. A selector is `channel@op.target` or `op.target`
//! (`cmd.onConnect`); the body is JSON on one line (`ServerEventsClient` in Node splits a
//! message at its first line break).

use super::Channels;
use crate::contract::Dto;
use crate::contract::sessions::SessionInfo;
use crate::storage::events::{Event, Kind};
use bytes::{Bytes, BytesMut};

/// An event of the log, with its frames written once for every subscriber.
pub(crate) struct Prepared {
    pub id: i64,
    pub kind: Kind,
    pub subscription: Option<String>,
    pub now_channels: Option<Vec<String>>,
    pub body: Option<String>,
    /// One frame per channel the event goes to.
    frames: Vec<(String, Bytes)>,
}

impl Prepared {
    pub fn of(event: Event) -> Prepared {
        let selector = match event.kind {
            Kind::Changed => "cmd.SessionChanged",
            Kind::Deleted => "cmd.SessionDeleted",
            Kind::Join => "cmd.onJoin",
            Kind::Leave => "cmd.onLeave",
            Kind::Update => "cmd.onUpdate",
        };
        let body: Option<Vec<u8>> = match &event.session {
            Some(session) => session_json(session),
            None => event.body.as_ref().map(|b| b.as_bytes().to_vec()),
        };
        let frames = match body {
            Some(body) => event
                .channels
                .iter()
                .map(|ch| {
                    let f = frame(Some(event.id), &format!("{ch}@{selector}"), &body);
                    (ch.clone(), f)
                })
                .collect(),
            None => Vec::new(),
        };
        Prepared {
            id: event.id,
            kind: event.kind,
            subscription: event.subscription,
            now_channels: event.now_channels,
            body: event.body,
            frames,
        }
    }

    /// What a subscriber of `channels` gets of this event: one frame per channel of the event
    /// it is in; None when it is in none.
    pub fn frames_for(&self, channels: &Channels) -> Option<Bytes> {
        let mut mine = self.frames.iter().filter(|(ch, _)| channels.has(ch));
        let first = mine.next()?;
        let rest: Vec<&(String, Bytes)> = mine.collect();
        if rest.is_empty() {
            return Some(first.1.clone());
        }
        let mut all = BytesMut::from(&first.1[..]);
        for (_, f) in rest {
            all.extend_from_slice(f);
        }
        Some(all.freeze())
    }
}

/// The session as SessionInfo JSON; None (and logged) if the logged row cannot be read.
fn session_json(session: &crate::storage::sessions::LoggedSession) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(2048);
    let written = session.value().and_then(|v| {
        crate::wire::json::write(&mut out, SessionInfo::TYPE, &v).map_err(|e| e.to_string())
    });
    match written {
        Ok(()) => Some(out),
        Err(cause) => {
            tracing::error!(%cause, "a logged session cannot be written as an event");
            None
        }
    }
}

/// One frame. The body's line breaks become spaces: in JSON a raw CR or LF can only be
/// whitespace between tokens (inside strings they are escaped), and a stored list keeps the
/// text a client sent, which may be pretty-printed.
pub(crate) fn frame(id: Option<i64>, selector: &str, body: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(body.len() + selector.len() + 32);
    if let Some(id) = id {
        out.extend_from_slice(format!("id: {id}\n").as_bytes());
    }
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(selector.as_bytes());
    out.extend_from_slice(b" ");
    out.extend(
        body.iter()
            .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\n\n");
    out.freeze()
}

/// `cmd.onHeartbeat` with the subscriber's Meta, written at the stream's position.
pub(crate) fn heartbeat(meta: &str) -> Bytes {
    frame(None, "cmd.onHeartbeat", meta.as_bytes())
}

/// A frame without a position of its own, at the stream's.
pub(crate) fn at(position: i64, plain: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(plain.len() + 24);
    out.extend_from_slice(format!("id: {position}\n").as_bytes());
    out.extend_from_slice(plain);
    out.freeze()
}

/// JSON of string pairs, ServiceStack's `SerializeDictionary` (values are strings).
pub(crate) fn string_map(pairs: &[(&str, &str)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_string(),
                serde_json::Value::String((*v).to_string()),
            )
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// A subscriber's Meta with more pairs (the connect arguments).
pub(crate) fn extend_map(json: &str, pairs: &[(&str, &str)]) -> String {
    let mut map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).unwrap_or_default();
    for (k, v) in pairs {
        map.insert(
            (*k).to_string(),
            serde_json::Value::String((*v).to_string()),
        );
    }
    serde_json::Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_two_lines_and_a_blank_one_whatever_the_body_holds() {
        let f = frame(Some(7), "A1@cmd.SessionChanged", b"{\"a\":\n [1,\r\n2]}");
        assert_eq!(
            &f[..],
            b"id: 7\ndata: A1@cmd.SessionChanged {\"a\":  [1,  2]}\n\n"
        );
        assert_eq!(&heartbeat("{}")[..], b"data: cmd.onHeartbeat {}\n\n");
        assert_eq!(
            &at(3, &heartbeat("{}"))[..],
            b"id: 3\ndata: cmd.onHeartbeat {}\n\n"
        );
    }

    #[test]
    fn a_subscriber_gets_the_frames_of_the_channels_it_is_in() {
        let p = Prepared {
            id: 1,
            kind: Kind::Join,
            subscription: None,
            now_channels: None,
            body: None,
            frames: vec![
                ("A".into(), Bytes::from_static(b"a\n\n")),
                ("B".into(), Bytes::from_static(b"b\n\n")),
            ],
        };
        let some = |l: &[&str]| Channels::Some(l.iter().map(|s| s.to_string()).collect());
        assert_eq!(p.frames_for(&some(&["B"])).as_deref(), Some(&b"b\n\n"[..]));
        assert_eq!(
            p.frames_for(&some(&["B", "A"])).as_deref(),
            Some(&b"a\n\nb\n\n"[..])
        );
        assert_eq!(
            p.frames_for(&Channels::All).as_deref(),
            Some(&b"a\n\nb\n\n"[..])
        );
        assert_eq!(p.frames_for(&some(&["C"])), None);
    }
}
