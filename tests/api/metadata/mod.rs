//! The service describing itself: the metadata pages, Add ServiceStack Reference (`/types/*`)
//! and their caching and errors; [`tools`] runs the real reference tools and clients on the
//! generated code.

mod pages;
mod references;
mod tools;

use crate::helpers::*;

/// The host the seed's page was served from (its samples name it).
pub const SEED_HOST: &str = "team.evovoice.io";

/// `shared/seed/PatchSession.txt`, beside the repository (as CI lays it out), read at test
/// time so the test follows the seed itself.
pub fn seed_page_text() -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seed/PatchSession.txt");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the seed {} is readable: {e}", path.display()))
}

/// What a reader sees of an HTML page: `<head>` dropped, tags removed, entities decoded.
pub fn page_text(html: &str) -> String {
    let body = match (html.find("<head>"), html.find("</head>")) {
        (Some(start), Some(end)) => format!("{}{}", &html[..start], &html[end + "</head>".len()..]),
        _ => html.to_string(),
    };
    let mut text = String::with_capacity(body.len());
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// GET `path` as a browser on `host` would.
pub async fn get_page(app: &TestApp, path: &str, host: &str) -> Response {
    app.get(path).header("Host", host).await
}
