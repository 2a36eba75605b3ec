//! TypeScript, as ServiceStack 6's `TypeScriptGenerator` writes it: `export class`es with an
//! `init` constructor, string enums, `@ApiMember` descriptions as comments.
//!
//! Two targets ([`Target`]): the metadata page keeps ServiceStack 6's listing exactly (the
//! seed); a reference is for `tsc --strict`, so every member says whether it may be absent
//! (`?` when nullable, `!` otherwise: TS2564), the dictionary's value type is declared, and
//! request DTOs carry their route, `IReturn<Response>`, the verb marker and the methods
//! `@servicestack/client` calls (`getTypeName`, `getMethod`, `createResponse`).

use super::plan::{self, Decl, Header, OptionLine, Options, Target};
use crate::contract::{DictionaryDef, EnumDef, Member, TypeDef, WireType};

pub const OPTIONS: &[OptionLine] = &[
    ("GlobalNamespace", ""),
    ("MakePropertiesOptional", "False"),
    ("AddServiceStackTypes", "True"),
    ("AddResponseStatus", "False"),
    ("AddImplicitVersion", ""),
    ("AddDescriptionAsComments", "True"),
    ("IncludeTypes", ""),
    ("ExcludeTypes", ""),
    ("DefaultImports", ""),
];

const HEADER: Header<'static> = Header {
    open: "/*",
    close: "*/",
    prefix: "//",
    lines: OPTIONS,
};

struct Writer<'a> {
    out: String,
    target: Target,
    options: &'a Options,
}

/// The declarations of a metadata page, no header.
pub fn listing(decls: &[Decl]) -> String {
    let options = Options::default();
    let mut w = Writer {
        out: String::new(),
        target: Target::Page,
        options: &options,
    };
    w.decls(decls);
    w.out
}

/// `/types/typescript`.
pub fn reference(decls: &[Decl], options: &Options, base_url: &str, date: &str) -> String {
    let mut w = Writer {
        out: String::new(),
        target: Target::Reference,
        options,
    };
    HEADER.write(&mut w.out, base_url, date, options);
    let mut body = Writer {
        out: String::new(),
        target: Target::Reference,
        options,
    };
    if options.flag("AddServiceStackTypes", true) {
        body.servicestack_types(decls);
    }
    body.decls(decls);
    match options.get("GlobalNamespace") {
        Some(ns) => {
            w.out.push_str(&format!("export namespace {ns}\n{{\n"));
            for line in body.out.trim_end().lines() {
                if !line.is_empty() {
                    w.out.push_str("    ");
                }
                w.out.push_str(line);
                w.out.push('\n');
            }
            w.out.push_str("}\n");
        }
        None => w.out.push_str(&body.out),
    }
    w.out
}

impl Writer<'_> {
    fn line(&mut self, indent: usize, text: &str) {
        for _ in 0..indent {
            self.out.push_str("    ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn decls(&mut self, decls: &[Decl]) {
        for decl in decls {
            match decl {
                Decl::Class(td) => self.class(td),
                Decl::Enum(def) => self.enumeration(def),
                Decl::Dictionary(dict) => self.dictionary(dict),
            }
        }
    }

    /// `IReturn<T>`, `IReturnVoid` and the verb markers the requests use.
    fn servicestack_types(&mut self, decls: &[Decl]) {
        self.line(
            0,
            "export interface IReturn<T>\n{\n    createResponse(): T;\n}\n",
        );
        self.line(
            0,
            "export interface IReturnVoid\n{\n    createResponse(): void;\n}\n",
        );
        let mut markers: Vec<String> = Vec::new();
        for decl in decls {
            if let Decl::Class(td) = decl
                && let Some(verb) = plan::operation_of(td).and_then(plan::verb)
            {
                let marker = plan::verb_marker(verb);
                if !markers.contains(&marker) {
                    markers.push(marker);
                }
            }
        }
        for marker in markers {
            self.line(0, &format!("export interface {marker}\n{{\n}}\n"));
        }
    }

    fn dictionary(&mut self, dict: &DictionaryDef) {
        self.line(0, &format!("export class {}", dict.name));
        self.line(0, "{");
        self.line(1, &format!("[key:string] : {};", dict.value.name));
        self.line(0, "");
        self.constructor(dict.name, false);
        self.line(0, "}");
        // The seed has two blank lines after it (one after every other declaration).
        self.line(0, "\n");
    }

    fn enumeration(&mut self, def: &EnumDef) {
        self.line(0, &format!("export enum {}", def.name));
        self.line(0, "{");
        for (name, _) in def.values {
            self.line(1, &format!("{name} = '{name}',"));
        }
        self.line(0, "}\n");
    }

    fn class(&mut self, td: &'static TypeDef) {
        let op = match self.target {
            Target::Reference => plan::operation_of(td),
            Target::Page => None,
        };
        let verb = op.and_then(plan::verb);
        if let Some(op) = op {
            for route in op.routes {
                let verbs = route.verbs.join(",");
                self.line(0, &format!("// @Route(\"{}\", \"{verbs}\")", route.path));
            }
        }
        let mut head = format!("export class {}", td.name);
        if let Some(base) = td.base {
            head.push_str(&format!(" extends {}", base.name));
        }
        if let Some(op) = op {
            head.push_str(&format!(" implements IReturn<{}>", op.response.name));
            if let Some(verb) = verb {
                head.push_str(&format!(", {}", plan::verb_marker(verb)));
            }
        }
        self.line(0, &head);
        self.line(0, "{");
        let mut commented = false;
        for member in td.members {
            if commented {
                self.line(0, "");
            }
            commented = self.member(member);
        }
        if !td.members.is_empty() {
            self.line(0, "");
        }
        self.constructor(td.name, td.base.is_some());
        if let Some(op) = op {
            self.line(
                1,
                &format!("public getTypeName() {{ return '{}'; }}", td.name),
            );
            if let Some(verb) = verb {
                self.line(1, &format!("public getMethod() {{ return '{verb}'; }}"));
            }
            self.line(
                1,
                &format!(
                    "public createResponse() {{ return new {}(); }}",
                    op.response.name
                ),
            );
        }
        self.line(0, "}\n");
    }

    /// Writes one member; true when it had comment lines (a blank line follows, as in
    /// ServiceStack).
    fn member(&mut self, member: &Member) -> bool {
        let mut commented = false;
        if let Some(text) = member.description {
            if self.options.flag("AddDescriptionAsComments", true) {
                self.line(1, &format!("/** @description {text} */"));
            }
            self.line(1, &format!("// @ApiMember(Description=\"{text}\")"));
            commented = true;
        }
        let value_type = matches!(
            member.ty,
            WireType::Bool | WireType::Int | WireType::Enum(_)
        );
        let marker = match self.target {
            Target::Page if member.nullable && value_type => "?",
            Target::Page => "",
            Target::Reference
                if member.nullable || self.options.flag("MakePropertiesOptional", false) =>
            {
                "?"
            }
            Target::Reference => "!",
        };
        let line = format!("public {}{marker}: {};", member.json, type_name(&member.ty));
        self.line(1, &line);
        commented
    }

    fn constructor(&mut self, name: &str, derived: bool) {
        let sup = if derived { "super(init); " } else { "" };
        self.line(
            1,
            &format!(
                "public constructor(init?: Partial<{name}>) {{ {sup}(Object as any).assign(this, init); }}"
            ),
        );
    }
}

fn type_name(ty: &WireType) -> String {
    match ty {
        WireType::Text => "string".into(),
        WireType::Bool => "boolean".into(),
        WireType::Int => "number".into(),
        WireType::Enum(def) => def.name.into(),
        WireType::List(inner) => format!("{}[]", type_name(inner)),
        WireType::StringMap => "{ [index:string]: string; }".into(),
        WireType::Object(td) => td.name.into(),
    }
}
