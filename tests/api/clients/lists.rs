//! ListSessions through the real clients, with the DTOs the server generates for them
//! (`/types/typescript` compiled by `tsc`, `/types/python` saved as dtos.py), as a user who
//! added the ServiceStack Reference would call it:
//!
//! - Node (tests/clients/node/lists.mjs): `client.get(new ListSessions({...}))` and
//!   `client.api(...)` on `/api/ListSessions`, and the Evo Voice CLI's own URLs on `/sessions`
//!   (built as the CLI builds them, with `URLSearchParams`, arrays comma-joined).
//! - Python (tests/clients/python/lists.py): `client.send(ListSessions(...))`, the verb taken
//!   from the generated `IGet`, the answer a typed `ListResponseOfSessionInfo`.
//!
//! This file decides every case: the request, the exact URL each client must put on the wire,
//! and the whole answer (each item as GetSession answers it, and the paging members). The
//! scripts only drive the clients and compare.
//!
//! On the wire, arrays differ: `@servicestack/client` sends `encodeURIComponent(array)`, i.e.
//! `customerIds=a%2Cb`; the PyPI client sends JSV, `customerIds=[a,b]` (brackets unescaped),
//! which ServiceStack binds by stripping the brackets (`DeserializeListWithElements.StripList`).

use super::*;

/// The list user's account is OTHER_ACCOUNT (GRACE's); [`FOREIGN`] is in ACCOUNT, ADA's.
const FOREIGN: u32 = 99;

fn id(n: u32) -> String {
    format!("64c0ffee00000000000000{n:02x}")
}

fn ids(ns: &[u32]) -> Vec<String> {
    ns.iter().map(|&n| id(n)).collect()
}

/// GRACE's sessions 1 … 5, oldest first (session 3 a [`full_session`] with members and
/// breadcrumbs), and ADA's [`FOREIGN`] session, the newest.
fn list_sessions() -> Vec<Value> {
    let mut docs: Vec<Value> = (1..=5)
        .map(|n| {
            let base = if n == 3 {
                full_session(&id(n), USER.account)
            } else {
                simple_session(&id(n), USER.account)
            };
            with(
                &base,
                json!({
                    "dateCreated": format!("2026-11-2{n}T10:00:00.000Z"),
                    "fromAddress": format!("+1555020{n}"),
                    "customerId": match n { 1 | 2 => "cust-a", 3 | 4 => "cust-b", _ => "cust-c" },
                    "displayName": format!("call {}", 6 - n),
                    "log": [{"date": "2026-11-21T10:00:00.000Z", "message": format!("note {n}")}],
                }),
            )
        })
        .collect();
    docs.push(with(
        &simple_session(&id(FOREIGN), ADA.account),
        json!({"dateCreated": "2026-11-29T10:00:00.000Z"}),
    ));
    docs
}

/// The whole ListResponse the server must answer: the items as GetSession answers them.
fn page(items: &[u32], total_count: i64, total_pages: i64, has_more_pages: bool) -> Value {
    json!({
        "ids": ids(items),
        "paging": {"totalCount": total_count, "totalPages": total_pages, "hasMorePages": has_more_pages},
    })
}

/// One ListSessions call: the request as JSON (camelCase, as the DTOs' own JSON), the query
/// each client must send for it, and the answer.
fn case(name: &str, request: Value, node: &str, python: &str, answer: Value) -> Value {
    json!({"name": name, "request": request, "node": node, "python": python, "answer": answer})
}

/// Cases without array members: both clients send them the same way (Node in the request's
/// key order, which serde_json keeps alphabetical; Python in the DTO's declaration order).
fn scalar_cases() -> Vec<Value> {
    vec![
        case(
            "the first page of two, totals counted",
            json!({"countPerPage": 2, "page": 0}),
            "countPerPage=2&page=0",
            "page=0&countPerPage=2",
            page(&[5, 4], 5, 3, true),
        ),
        case(
            "the last page",
            json!({"countPerPage": 2, "page": 2}),
            "countPerPage=2&page=2",
            "page=2&countPerPage=2",
            page(&[1], 5, 3, false),
        ),
        case(
            "beyond the last page",
            json!({"countPerPage": 2, "page": 3}),
            "countPerPage=2&page=3",
            "page=3&countPerPage=2",
            page(&[], 0, 0, false),
        ),
        case(
            "all lifts paging",
            json!({"all": true, "countPerPage": 2}),
            "all=true&countPerPage=2",
            "countPerPage=2&all=true",
            page(&[5, 4, 3, 2, 1], 5, 1, false),
        ),
        case(
            "simplified paging: no totals, whether more follow",
            json!({"countPerPage": 2, "simplifiedPaging": true}),
            "countPerPage=2&simplifiedPaging=true",
            "countPerPage=2&simplifiedPaging=true",
            page(&[5, 4], 0, 0, true),
        ),
        case(
            "sorted by dateCreated ascending, paged",
            json!({"countPerPage": 3, "sortField": "dateCreated", "sortOrder": "Ascend"}),
            "countPerPage=3&sortField=dateCreated&sortOrder=Ascend",
            "countPerPage=3&sortField=dateCreated&sortOrder=Ascend",
            page(&[1, 2, 3], 5, 2, true),
        ),
        case(
            "sorted by displayName descending",
            json!({"sortField": "displayName", "sortOrder": "Descend"}),
            "sortField=displayName&sortOrder=Descend",
            "sortField=displayName&sortOrder=Descend",
            page(&[1, 2, 3, 4, 5], 5, 1, false),
        ),
        case(
            "from contains, a '+' escaped",
            json!({"from": "+15550203"}),
            "from=%2B15550203",
            "from=%2B15550203",
            page(&[3], 1, 1, false),
        ),
        case(
            "startDate and endDate, whole UTC days, both included",
            json!({"endDate": "2026-11-24", "startDate": "2026-11-22"}),
            "endDate=2026-11-24&startDate=2026-11-22",
            "startDate=2026-11-22&endDate=2026-11-24",
            page(&[4, 3, 2], 3, 1, false),
        ),
        case(
            "no accountIds: the caller's own accounts only",
            json!({}),
            "",
            "",
            page(&[5, 4, 3, 2, 1], 5, 1, false),
        ),
        with(
            &case(
                "another account's user sees only theirs",
                json!({}),
                "",
                "",
                page(&[FOREIGN], 1, 1, false),
            ),
            json!({"user": {"userName": ADA.email, "password": ADA.password}}),
        ),
    ]
}

/// Cases with array members, which each client encodes its own way.
fn array_cases() -> Vec<Value> {
    let own = USER.account;
    vec![
        case(
            "customerIds as an array",
            json!({"customerIds": ["cust-a", "cust-c"]}),
            "customerIds=cust-a%2Ccust-c",
            "customerIds=[cust-a,cust-c]",
            page(&[5, 2, 1], 3, 1, false),
        ),
        case(
            "specificIds: another account's session is not found by id",
            json!({"specificIds": [id(1), id(3), id(FOREIGN)]}),
            &format!("specificIds={}%2C{}%2C{}", id(1), id(3), id(FOREIGN)),
            &format!("specificIds=[{},{},{}]", id(1), id(3), id(FOREIGN)),
            page(&[3, 1], 2, 1, false),
        ),
        case(
            "the caller's own account asked for explicitly, with a filter",
            json!({"accountIds": [own], "customerIds": ["cust-b"], "sortOrder": "Ascend"}),
            &format!("accountIds={own}&customerIds=cust-b&sortOrder=Ascend"),
            &format!("accountIds=[{own}]&customerIds=[cust-b]&sortOrder=Ascend"),
            page(&[3, 4], 2, 1, false),
        ),
    ]
}

/// Explicit accounts outside the caller's: 403 with the ResponseStatus the client surfaces.
fn forbidden_cases() -> Vec<Value> {
    let (own, other) = (USER.account, ADA.account);
    let status = json!({
        "errorCode": "Forbidden",
        "message": format!("You do not have access to account '{other}'"),
        "errors": [],
    });
    vec![
        json!({"name": "another account", "request": {"accountIds": [other]},
               "node": format!("accountIds={other}"), "python": format!("accountIds=[{other}]"),
               "status": 403, "responseStatus": status}),
        json!({"name": "the caller's account and another", "request": {"accountIds": [own, other]},
               "node": format!("accountIds={own}%2C{other}"),
               "python": format!("accountIds=[{own},{other}]"),
               "status": 403, "responseStatus": status}),
    ]
}

/// The Evo Voice CLI's calls, as it sends them (issue 10): `session list` and `session log`.
fn cli_calls() -> Vec<Value> {
    let own = USER.account;
    vec![
        json!({
            "name": "evov session list",
            "query": [["accountIds", [own]], ["page", 0], ["countPerPage", 25], ["all", true],
                      ["simplifiedPaging", true], ["sortField", "dateCreated"], ["sortOrder", "Descend"]],
            "url": format!("/sessions?accountIds={own}&page=0&countPerPage=25&all=true&simplifiedPaging=true&sortField=dateCreated&sortOrder=Descend"),
            "answer": page(&[5, 4, 3, 2, 1], 0, 0, false),
        }),
        json!({
            "name": "evov session list --customer cust-a,cust-c",
            "query": [["accountIds", [own]], ["page", 0], ["countPerPage", 25],
                      ["customerIds", ["cust-a", "cust-c"]]],
            "url": format!("/sessions?accountIds={own}&page=0&countPerPage=25&customerIds=cust-a%2Ccust-c"),
            "answer": page(&[5, 2, 1], 3, 1, false),
        }),
        json!({
            "name": "evov session log",
            "query": [["specificIds", [id(3)]], ["countPerPage", 1], ["simplifiedPaging", true]],
            "url": format!("/sessions?specificIds={}&countPerPage=1&simplifiedPaging=true", id(3)),
            "answer": page(&[3], 0, 0, false),
            "log": [{"date": "2026-11-21T10:00:00.000Z", "message": "note 3"}],
        }),
    ]
}

/// A server with the list world, and the expected document for the scripts: every session as
/// GetSession answers it to its owner, and the cases.
async fn list_world(cases: Vec<Value>, forbidden: Vec<Value>, cli: Vec<Value>) -> (TestApp, Value) {
    let (app, _) = seeded_app(&list_sessions()).await;
    add_user(app.pool(), &ADA).await;
    let mut sessions = serde_json::Map::new();
    for n in [1, 2, 3, 4, 5, FOREIGN] {
        let owner = if n == FOREIGN { &ADA } else { &USER };
        let res = app.get_session(&id(n)).signed_in_as(owner).await;
        assert_eq!(res.status, 200, "{}", res.text);
        sessions.insert(id(n), res.json());
    }
    let expected = json!({
        "baseUrl": app.base_url,
        "userName": EMAIL,
        "password": PASSWORD,
        "sessions": sessions,
        "cases": cases,
        "forbidden": forbidden,
        "cli": cli,
    });
    (app, expected)
}

/// A fresh working directory under the cargo target dir.
fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves what the server answers at `path` (the generated DTOs) as `file` in `dir`.
async fn save_types(app: &TestApp, path: &str, dir: &Path, file: &str) {
    let res = app.get(path).await;
    assert_eq!(res.status, 200, "{path}: {}", res.text);
    std::fs::write(dir.join(file), &res.text).unwrap();
}

#[tokio::test]
async fn node_client_lists_pages_filters_sorts_and_the_clis_calls_with_generated_dtos() {
    let modules = node_deps().join("node_modules");
    let cases = [scalar_cases(), array_cases()].concat();
    let (app, expected) = list_world(cases, forbidden_cases(), cli_calls()).await;

    // The generated dtos.ts, compiled to an ES module beside the script.
    let dir = work_dir("node-lists");
    std::os::unix::fs::symlink(&modules, dir.join("node_modules")).unwrap();
    std::fs::write(dir.join("package.json"), r#"{"type":"module"}"#).unwrap();
    save_types(&app, "/types/typescript", &dir, "dtos.ts").await;
    for script in ["lists.mjs", "harness.mjs"] {
        std::fs::copy(clients_dir().join("node").join(script), dir.join(script)).unwrap();
    }
    let tsc = modules.join("typescript/bin/tsc");
    let mut compile = tokio::process::Command::new("node");
    compile.current_dir(&dir).arg(&tsc).args([
        "--strict",
        "--skipLibCheck",
        "--target",
        "es2020",
        "--module",
        "es2020",
        "--lib",
        "es2020,dom",
        "dtos.ts",
    ]);
    let compiled = tokio::time::timeout(CLIENT_TIMEOUT, compile.kill_on_drop(true).output())
        .await
        .expect("tsc finished")
        .expect("tsc started");
    assert!(
        compiled.status.success(),
        "tsc dtos.ts: {}",
        String::from_utf8_lossy(&compiled.stdout)
    );

    let mut cmd = tokio::process::Command::new("node");
    cmd.current_dir(&dir).arg("lists.mjs");
    run_client("Node.js lists", cmd, &expected).await;
}

fn python_lists(dir: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(python_deps());
    cmd.current_dir(dir).arg("lists.py");
    cmd
}

async fn python_dir(app: &TestApp, name: &str) -> PathBuf {
    let dir = work_dir(name);
    save_types(app, "/types/python", &dir, "dtos.py").await;
    for script in ["lists.py", "harness.py"] {
        std::fs::copy(clients_dir().join("python").join(script), dir.join(script)).unwrap();
    }
    dir
}

#[tokio::test]
async fn python_client_sends_list_sessions_by_iget_and_gets_whole_typed_pages() {
    python_deps();
    let (app, expected) = list_world(scalar_cases(), vec![], vec![]).await;
    let dir = python_dir(&app, "python-lists").await;
    run_client("Python lists", python_lists(&dir), &expected).await;
}

/// The PyPI client sends arrays as JSV (`customerIds=[cust-a,cust-c]`), which ServiceStack
/// binds by stripping the brackets, and so does voice-api: array filters and the account rules
/// work through it as through the Node client.
#[tokio::test]
async fn python_client_array_filters_and_account_rules() {
    python_deps();
    let (app, expected) = list_world(array_cases(), forbidden_cases(), vec![]).await;
    let dir = python_dir(&app, "python-list-arrays").await;
    run_client("Python list arrays", python_lists(&dir), &expected).await;
}
