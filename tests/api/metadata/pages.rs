//! The HTML metadata pages.

use super::*;

#[tokio::test]
async fn the_patch_session_page_in_typescript_reads_exactly_as_the_seed() {
    let app = TestApp::spawn().await;
    let res = get_page(
        &app,
        "/xml/metadata?op=PatchSession&lang=typescript",
        SEED_HOST,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.content_type(), "text/html; charset=utf-8");
    let text = page_text(&res.text);
    let seed = seed_page_text();
    if text.trim() != seed.trim() {
        let diff = text
            .trim()
            .lines()
            .zip(seed.trim().lines())
            .enumerate()
            .find(|(_, (a, b))| a != b);
        panic!(
            "the page differs from the seed; first differing line: {diff:?}\n--- page text\n{text}"
        );
    }
}
