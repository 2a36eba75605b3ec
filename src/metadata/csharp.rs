//! C#, as ServiceStack 6's `CSharpGenerator` writes it: one `namespace` block per CLR
//! namespace (ordinal order, types by name within), `partial` classes with `virtual`
//! auto-properties, collections initialised in a constructor, `[Route]` and
//! `IReturn<Response>` plus the verb marker on requests. ServiceStack's own types come from
//! the `ServiceStack.Client` package and are not declared again.

use super::plan::{self, Decl, Header, OptionLine, Options, Target};
use crate::contract::{DictionaryDef, EnumDef, Member, TypeDef, WireType};

pub const OPTIONS: &[OptionLine] = &[
    ("GlobalNamespace", ""),
    ("MakePartial", "True"),
    ("MakeVirtual", "True"),
    ("MakeInternal", "False"),
    ("MakeDataContractsExtensible", "False"),
    ("AddNullableAnnotations", "False"),
    ("AddReturnMarker", "True"),
    ("AddDescriptionAsComments", "True"),
    ("AddDataContractAttributes", "False"),
    ("AddIndexesToDataMembers", "False"),
    ("AddGeneratedCodeAttributes", "False"),
    ("AddResponseStatus", "False"),
    ("AddImplicitVersion", ""),
    ("InitializeCollections", "True"),
    ("ExportValueTypes", "False"),
    ("IncludeTypes", ""),
    ("ExcludeTypes", ""),
    ("AddNamespaces", ""),
    (
        "AddDefaultXmlNamespace",
        "http://schemas.servicestack.net/types",
    ),
];

const HEADER: Header<'static> = Header {
    open: "/*",
    close: "*/",
    prefix: "//",
    lines: OPTIONS,
};

const USINGS: &[&str] = &[
    "System",
    "System.IO",
    "System.Collections",
    "System.Collections.Generic",
    "System.Runtime.Serialization",
    "ServiceStack",
    "ServiceStack.DataAnnotations",
];

struct Style<'a> {
    options: &'a Options,
    target: Target,
}

/// The declarations of a metadata page: namespace blocks, no header or usings.
pub fn listing(decls: &[Decl]) -> String {
    let options = Options::default();
    namespaces(
        decls,
        &Style {
            options: &options,
            target: Target::Page,
        },
    )
}

/// `/types/csharp`.
pub fn reference(decls: &[Decl], options: &Options, base_url: &str, date: &str) -> String {
    let mut out = String::new();
    HEADER.write(&mut out, base_url, date, options);
    let style = Style {
        options,
        target: Target::Reference,
    };
    let mut usings: Vec<&str> = USINGS.to_vec();
    let mut own: Vec<&str> = decls
        .iter()
        .filter(|d| !d.is_servicestack())
        .map(|d| d.namespace())
        .collect();
    own.sort_unstable();
    own.dedup();
    if options.get("GlobalNamespace").is_none() {
        usings.extend(own);
    }
    usings.extend(options.list("AddNamespaces"));
    for using in usings {
        out.push_str(&format!("using {using};\n"));
    }
    out.push('\n');
    out.push_str(&namespaces(decls, &style));
    out
}

fn namespaces(decls: &[Decl], style: &Style<'_>) -> String {
    let mut decls: Vec<Decl> = decls
        .iter()
        .copied()
        .filter(|d| !d.is_servicestack())
        .collect();
    let global = style.options.get("GlobalNamespace");
    decls.sort_by(|a, b| {
        let ns = |d: &Decl| global.unwrap_or(d.namespace());
        ns(a).cmp(ns(b)).then(a.name().cmp(b.name()))
    });
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for decl in decls {
        let ns = global.unwrap_or(decl.namespace());
        if current != Some(ns) {
            if current.is_some() {
                out.push_str("}\n\n");
            }
            out.push_str(&format!("namespace {ns}\n{{\n"));
            current = Some(ns);
        }
        match decl {
            Decl::Class(td) => class(&mut out, td, style),
            Decl::Enum(def) => enumeration(&mut out, def, style),
            Decl::Dictionary(dict) => dictionary(&mut out, dict, style),
        }
        out.push('\n');
    }
    if current.is_some() {
        out.push_str("}\n\n");
    }
    out
}

impl Style<'_> {
    fn class_keyword(&self) -> String {
        let visibility = match self.options.flag("MakeInternal", false) {
            true => "internal",
            false => "public",
        };
        match self.options.flag("MakePartial", true) {
            true => format!("{visibility} partial class"),
            false => format!("{visibility} class"),
        }
    }
}

fn dictionary(out: &mut String, dict: &DictionaryDef, style: &Style<'_>) {
    out.push_str(&format!(
        "    {} {}\n        : Dictionary<string, {}>\n    {{\n    }}\n",
        style.class_keyword(),
        dict.name,
        dict.value.name
    ));
}

fn enumeration(out: &mut String, def: &EnumDef, style: &Style<'_>) {
    let visibility = match style.options.flag("MakeInternal", false) {
        true => "internal",
        false => "public",
    };
    out.push_str(&format!("    {visibility} enum {}\n    {{\n", def.name));
    // ServiceStack writes the values only when they are not 0, 1, 2, ...
    let sequential = def
        .values
        .iter()
        .enumerate()
        .all(|(i, (_, n))| *n == i as i64);
    for (name, n) in def.values {
        match sequential {
            true => out.push_str(&format!("        {name},\n")),
            false => out.push_str(&format!("        {name} = {n},\n")),
        }
    }
    out.push_str("    }\n");
}

fn class(out: &mut String, td: &'static TypeDef, style: &Style<'_>) {
    let op = match style.target {
        Target::Reference => plan::operation_of(td),
        Target::Page => None,
    };
    if let Some(op) = op {
        for route in op.routes {
            let verbs = route.verbs.join(",");
            out.push_str(&format!("    [Route(\"{}\", \"{verbs}\")]\n", route.path));
        }
    }
    out.push_str(&format!("    {} {}\n", style.class_keyword(), td.name));
    let mut inherits: Vec<String> = td.base.iter().map(|b| b.name.to_string()).collect();
    if let Some(op) = op
        && style.options.flag("AddReturnMarker", true)
    {
        inherits.push(format!("IReturn<{}>", op.response.name));
        inherits.extend(plan::verb(op).map(plan::verb_marker));
    }
    if !inherits.is_empty() {
        out.push_str(&format!("        : {}\n", inherits.join(", ")));
    }
    out.push_str("    {\n");
    let collections: Vec<&Member> = td
        .members
        .iter()
        .filter(|m| matches!(m.ty, WireType::List(_) | WireType::StringMap))
        .collect();
    if !collections.is_empty() && style.options.flag("InitializeCollections", true) {
        out.push_str(&format!("        public {}()\n        {{\n", td.name));
        for m in &collections {
            out.push_str(&format!(
                "            {} = new {}{{}};\n",
                m.name,
                type_name(&m.ty, false)
            ));
        }
        out.push_str("        }\n\n");
    }
    let mut commented = false;
    for member in td.members {
        if commented {
            out.push('\n');
        }
        commented = self::member(out, member, style);
    }
    out.push_str("    }\n");
}

fn member(out: &mut String, member: &Member, style: &Style<'_>) -> bool {
    let mut commented = false;
    if let Some(text) = member.description {
        if style.options.flag("AddDescriptionAsComments", true) {
            out.push_str(&format!(
                "        ///<summary>\n        ///{text}\n        ///</summary>\n"
            ));
        }
        out.push_str(&format!("        [ApiMember(Description=\"{text}\")]\n"));
        commented = true;
    }
    let modifier = match style.options.flag("MakeVirtual", true) {
        true => "public virtual",
        false => "public",
    };
    out.push_str(&format!(
        "        {modifier} {} {} {{ get; set; }}\n",
        type_name(&member.ty, member.nullable),
        member.name
    ));
    commented
}

/// The C# type; a nullable value type gets `?` (reference types are nullable already).
fn type_name(ty: &WireType, nullable: bool) -> String {
    let value = |name: &str| match nullable {
        true => format!("{name}?"),
        false => name.to_string(),
    };
    match ty {
        WireType::Text => "string".into(),
        WireType::Bool => value("bool"),
        WireType::Int => value("int"),
        WireType::Enum(def) => value(def.name),
        WireType::List(inner) => format!("List<{}>", type_name(inner, false)),
        WireType::StringMap => "Dictionary<string, string>".into(),
        WireType::Object(td) => td.name.into(),
    }
}
