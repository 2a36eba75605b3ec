//! Python, as ServiceStack 6's `PythonGenerator` writes it for the PyPI `servicestack`
//! client: `dataclass_json` dataclasses with camelCase letter case, `str` enums, request DTOs
//! deriving `IReturn[Response]` and the verb marker (`IPatch`), from which the client takes
//! the verb. ServiceStack's own types (`Authenticate`, `ResponseStatus`) come from the
//! package and are not declared again.

use super::plan::{self, Decl, Header, OptionLine, Options, Target};
use crate::contract::{DictionaryDef, EnumDef, Member, TypeDef, WireType};

pub const OPTIONS: &[OptionLine] = &[
    ("GlobalNamespace", ""),
    ("AddServiceStackTypes", "True"),
    ("AddResponseStatus", "False"),
    ("AddImplicitVersion", ""),
    ("AddDescriptionAsComments", "True"),
    ("IncludeTypes", ""),
    ("ExcludeTypes", ""),
    (
        "DefaultImports",
        "datetime,decimal,marshmallow.fields:*,servicestack:*,typing:*,\
         dataclasses:dataclass/field,dataclasses_json:dataclass_json/LetterCase/Undefined/config,\
         enum:Enum/IntEnum",
    ),
    ("DataClass", ""),
    ("DataClassJson", ""),
];

const HEADER: Header<'static> = Header {
    open: "\"\"\"",
    close: "\"\"\"",
    prefix: "#",
    lines: OPTIONS,
};

const IMPORTS: &str = "import datetime
import decimal
from marshmallow.fields import *
from servicestack import *
from typing import *
from dataclasses import dataclass, field
from dataclasses_json import dataclass_json, LetterCase, Undefined, config
from enum import Enum, IntEnum
";

const DATACLASS: &str =
    "@dataclass_json(letter_case=LetterCase.CAMEL, undefined=Undefined.EXCLUDE)\n@dataclass";

/// The declarations of a metadata page, no header or imports.
pub fn listing(decls: &[Decl]) -> String {
    let mut out = String::new();
    write_decls(&mut out, decls, &Options::default(), Target::Page);
    out
}

/// `/types/python`.
pub fn reference(decls: &[Decl], options: &Options, base_url: &str, date: &str) -> String {
    let mut out = String::new();
    HEADER.write(&mut out, base_url, date, options);
    out.push_str(IMPORTS);
    out.push_str("\n\n");
    write_decls(&mut out, decls, options, Target::Reference);
    out
}

fn write_decls(out: &mut String, decls: &[Decl], options: &Options, target: Target) {
    for decl in decls.iter().filter(|d| !d.is_servicestack()) {
        match decl {
            Decl::Class(td) => class(out, td, options, target),
            Decl::Enum(def) => enumeration(out, def),
            Decl::Dictionary(dict) => dictionary(out, dict),
        }
        out.push_str("\n\n");
    }
}

fn dictionary(out: &mut String, dict: &DictionaryDef) {
    out.push_str(&format!(
        "class {}(Dict[str, {}]):\n    pass\n",
        dict.name, dict.value.name
    ));
}

fn enumeration(out: &mut String, def: &EnumDef) {
    out.push_str(&format!("class {}(str, Enum):\n", def.name));
    for (name, _) in def.values {
        out.push_str(&format!("    {} = '{name}'\n", snake(name).to_uppercase()));
    }
}

fn class(out: &mut String, td: &'static TypeDef, options: &Options, target: Target) {
    let op = match target {
        Target::Reference => plan::operation_of(td),
        Target::Page => None,
    };
    if let Some(op) = op {
        for route in op.routes {
            let verbs = route.verbs.join(",");
            out.push_str(&format!("# @Route(\"{}\", \"{verbs}\")\n", route.path));
        }
    }
    out.push_str(DATACLASS);
    out.push('\n');
    let mut bases: Vec<String> = td.base.iter().map(|b| b.name.to_string()).collect();
    if let Some(op) = op {
        bases.push(format!("IReturn[{}]", op.response.name));
        bases.extend(plan::verb(op).map(plan::verb_marker));
    }
    match bases.is_empty() {
        true => out.push_str(&format!("class {}:\n", td.name)),
        false => out.push_str(&format!("class {}({}):\n", td.name, bases.join(", "))),
    }
    if td.members.is_empty() {
        out.push_str("    pass\n");
    }
    for member in td.members {
        self::member(out, member, options);
    }
}

/// Python's reserved words (a member named so cannot be a field name as it is).
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

fn member(out: &mut String, member: &Member, options: &Options) {
    if let Some(text) = member.description {
        out.push_str(&format!("    # @ApiMember(Description=\"{text}\")\n"));
    }
    let name = snake(member.name);
    // A Python keyword (`from`) gets a trailing underscore and keeps its wire name.
    let (name, default) = if PYTHON_KEYWORDS.contains(&name.as_str()) {
        let json = member.json;
        (
            format!("{name}_"),
            format!("field(metadata=config(field_name='{json}'), default={{}})"),
        )
    } else {
        (name, "{}".to_string())
    };
    let default = |value: &str| default.replace("{}", value);
    match (&member.ty, member.nullable) {
        (WireType::Bool, false) => {
            out.push_str(&format!("    {name}: bool = {}\n", default("False")))
        }
        (WireType::Int, false) => out.push_str(&format!("    {name}: int = {}\n", default("0"))),
        (ty, _) => out.push_str(&format!(
            "    {name}: Optional[{}] = {}\n",
            type_name(ty),
            default("None")
        )),
    }
    if let Some(text) = member.description
        && options.flag("AddDescriptionAsComments", true)
    {
        out.push_str(&format!("    \"\"\"\n    {text}\n    \"\"\"\n\n"));
    }
}

fn type_name(ty: &WireType) -> String {
    match ty {
        WireType::Text => "str".into(),
        WireType::Bool => "bool".into(),
        WireType::Int => "int".into(),
        WireType::Enum(def) => def.name.into(),
        WireType::List(inner) => format!("List[{}]", type_name(inner)),
        WireType::StringMap => "Dict[str, str]".into(),
        WireType::Object(td) => td.name.into(),
    }
}

/// A .NET name in Python's snake case (`ExampleName` → `example_name`).
pub fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
    }
    out
}
