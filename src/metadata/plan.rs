//! What a generator writes, decided once for every language: which declarations, in which
//! order, with which options, and the `Options:` header that lets `typescript-ref` and friends
//! update a file later.
//!
//! Order (inferred from the seed, which is ServiceStack 6's page for PatchSession): the
//! dictionary types first, then for each operation its response type and then its request
//! type, each preceded by what it depends on (base class first, then member types in
//! declaration order), every declaration once.

use crate::contract::flows::DICTIONARIES;
use crate::contract::operations::{OPERATIONS, Operation};
use crate::contract::{DictionaryDef, EnumDef, TypeDef, WireType};

/// The ServiceStack version whose native types these generators follow (Evo Voice runs 6).
pub const SERVICESTACK_VERSION: &str = "6.00";

/// One top-level declaration of generated code.
#[derive(Debug, Clone, Copy)]
pub enum Decl {
    Class(&'static TypeDef),
    Enum(&'static EnumDef),
    Dictionary(&'static DictionaryDef),
}

impl Decl {
    pub fn name(self) -> &'static str {
        match self {
            Decl::Class(t) => t.name,
            Decl::Enum(e) => e.name,
            Decl::Dictionary(d) => d.name,
        }
    }

    pub fn namespace(self) -> &'static str {
        match self {
            Decl::Class(t) => t.namespace,
            Decl::Enum(e) => e.namespace,
            Decl::Dictionary(d) => d.namespace,
        }
    }

    /// ServiceStack's own types, which the C# and Python client libraries already define.
    pub fn is_servicestack(self) -> bool {
        self.namespace() == "ServiceStack"
    }
}

/// Who reads the output: the metadata page shows ServiceStack 6's listing exactly as the seed
/// has it; a reference (`/types/{lang}`) is code for a compiler and a client library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Page,
    Reference,
}

/// The query options of `/types/{lang}` (names case-insensitive, as ServiceStack binds them),
/// as given; each language says which it knows and their defaults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    given: Vec<(String, String)>,
}

impl Options {
    pub fn from_query(query: Option<&str>) -> Options {
        let given = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.trim().to_string()))
            .collect();
        Options { given }
    }

    /// The value given for `key`, if any (an empty value counts as not given).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.given
            .iter()
            .rev()
            .find(|(k, v)| k.eq_ignore_ascii_case(key) && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str, default: bool) -> bool {
        match self.get(key) {
            Some(v) => v.eq_ignore_ascii_case("true") || v == "1",
            None => default,
        }
    }

    /// A comma-separated list option (`IncludeTypes=PatchSession.*,SessionInfo`).
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One option line of a language's header: its name and the default shown when not given.
pub type OptionLine = (&'static str, &'static str);

/// The header every reference starts with. `open`/`close` delimit the comment, `prefix` marks
/// an option as commented out (the default); a given option is written without it, which is
/// what the update tools read back.
pub struct Header<'a> {
    pub open: &'a str,
    pub close: &'a str,
    pub prefix: &'a str,
    pub lines: &'a [OptionLine],
}

impl Header<'_> {
    pub fn write(&self, out: &mut String, base_url: &str, date: &str, options: &Options) {
        let prefix = self.prefix;
        out.push_str(&format!("{} Options:\nDate: {date}\n", self.open));
        out.push_str(&format!("Version: {SERVICESTACK_VERSION}\n"));
        out.push_str(&format!(
            "Tip: To override a DTO option, remove \"{prefix}\" prefix before updating\n"
        ));
        out.push_str(&format!("BaseUrl: {base_url}\n\n"));
        for (name, default) in self.lines {
            match options.get(name) {
                Some(v) => out.push_str(&format!("{name}: {v}\n")),
                None => out.push_str(&format!("{prefix}{name}: {default}\n")),
            }
        }
        out.push_str(self.close);
        out.push_str("\n\n");
    }
}

/// Every declaration `ops` need, in generation order. A reference also declares the value
/// types of the dictionaries (the seed's page names `NodeParameter` without declaring it).
pub fn declarations(ops: &[&'static Operation], target: Target) -> Vec<Decl> {
    let mut out = Vec::new();
    for dict in DICTIONARIES {
        if target == Target::Reference {
            visit_type(dict.value, &mut out);
        }
        out.push(Decl::Dictionary(dict));
    }
    for op in ops {
        visit_type(op.response, &mut out);
        visit_type(op.request, &mut out);
    }
    out
}

/// All operations, in the contract's order.
pub fn all_operations() -> Vec<&'static Operation> {
    OPERATIONS.iter().collect()
}

fn contains(out: &[Decl], name: &str) -> bool {
    out.iter().any(|d| d.name() == name)
}

fn visit_type(ty: &'static TypeDef, out: &mut Vec<Decl>) {
    if contains(out, ty.name) {
        return;
    }
    if let Some(base) = ty.base {
        visit_type(base, out);
    }
    for member in ty.members {
        visit_wire(&member.ty, out);
    }
    // A self-referencing type would have been added by its members already.
    if !contains(out, ty.name) {
        out.push(Decl::Class(ty));
    }
}

fn visit_wire(ty: &'static WireType, out: &mut Vec<Decl>) {
    match ty {
        WireType::Enum(def) if !contains(out, def.name) => out.push(Decl::Enum(def)),
        WireType::List(inner) => visit_wire(inner, out),
        WireType::Object(td) => visit_type(td, out),
        _ => {}
    }
}

/// What `Name` depends on, itself included (ServiceStack's `IncludeTypes=Name.*`); a request
/// DTO also brings its response type.
fn with_dependencies(name: &str, all: &[Decl]) -> Vec<&'static str> {
    let mut deps = Vec::new();
    match all.iter().find(|d| d.name() == name) {
        Some(Decl::Class(td)) => {
            visit_type(td, &mut deps);
            if let Some(op) = OPERATIONS.iter().find(|op| op.request.name == td.name) {
                visit_type(op.response, &mut deps);
            }
        }
        Some(Decl::Dictionary(d)) => {
            visit_type(d.value, &mut deps);
            deps.push(Decl::Dictionary(d));
        }
        Some(d @ Decl::Enum(_)) => deps.push(*d),
        None => {}
    }
    deps.iter().map(|d| d.name()).collect()
}

/// `IncludeTypes` and `ExcludeTypes` applied to `all`, keeping its order.
pub fn filter(all: Vec<Decl>, options: &Options) -> Vec<Decl> {
    let include = options.list("IncludeTypes");
    let exclude = options.list("ExcludeTypes");
    let mut keep: Option<Vec<&str>> = None;
    if !include.is_empty() {
        let mut names = Vec::new();
        for entry in include {
            match entry.strip_suffix(".*") {
                Some(name) => names.extend(with_dependencies(name, &all)),
                None => names.push(entry),
            }
        }
        keep = Some(names);
    }
    all.into_iter()
        .filter(|d| keep.as_ref().is_none_or(|k| k.contains(&d.name())))
        .filter(|d| !exclude.contains(&d.name()))
        .collect()
}

/// The operation whose request DTO `td` is.
pub fn operation_of(td: &TypeDef) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|op| std::ptr::eq(op.request, td))
}

/// The verb a client should use for `op`: its only verb, or POST when it takes several and
/// POST among them (ServiceStack's `Authenticate : IPost`).
pub fn verb(op: &Operation) -> Option<&'static str> {
    let mut verbs = op.routes.iter().flat_map(|r| r.verbs.iter().copied());
    let first = verbs.next()?;
    let all: Vec<&str> = std::iter::once(first).chain(verbs).collect();
    if all.iter().all(|v| *v == first) {
        Some(first)
    } else {
        all.contains(&"POST").then_some("POST")
    }
}

/// `IPatch` for PATCH: the verb marker interface ServiceStack's clients read.
pub fn verb_marker(verb: &str) -> String {
    let mut chars = verb.chars();
    let first = chars.next().unwrap_or('X');
    format!(
        "I{}{}",
        first.to_ascii_uppercase(),
        chars.as_str().to_ascii_lowercase()
    )
}

/// The lowest-valued variant: ServiceStack's placeholder for an enum.
pub fn lowest(def: &EnumDef) -> &'static str {
    def.values
        .iter()
        .min_by_key(|(_, n)| *n)
        .map_or("", |(name, _)| name)
}
