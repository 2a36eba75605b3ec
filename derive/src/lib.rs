//! The derives behind voice-api's contract (`src/contract/`): what .NET reflection is to
//! ServiceStack, these are to voice-api. `#[derive(Dto)]` turns a struct into a described DTO
//! (its `TypeDef`: name, namespace, base type, members in declaration order with wire type,
//! nullability, `@ApiMember` description, rules and storage column, and its DataContract order)
//! and converts it to and from the format-neutral `Value` every reader and writer works on.
//! `#[derive(WireEnum)]` does the same for enums (names and integer values).
//!
//! Because the description is generated from the struct itself, a member added to a DTO is in
//! the contract by construction: there is no second list to forget.
//!
//! The generated code names `crate::contract`, so these derives are for use inside voice-api.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{
    Data, DeriveInput, Expr, ExprLit, Fields, Ident, Lit, LitStr, parse_macro_input,
    spanned::Spanned,
};

/// `#[derive(Dto)]` with `#[dto(namespace = "Voice.Api.Sessions")]` on the struct and, on fields,
/// `#[dto(base)]`, `#[dto(name = "...")]`, `#[dto(description = "...")]`, `#[dto(required)]`,
/// `#[dto(max_bytes = N)]`, `#[dto(max_chars = N)]`, `#[dto(patch)]`.
#[proc_macro_derive(Dto, attributes(dto))]
pub fn derive_dto(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    dto(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `#[derive(WireEnum)]` with `#[dto(namespace = "...")]`; every variant has an explicit
/// integer discriminant (the .NET value).
#[proc_macro_derive(WireEnum, attributes(dto))]
pub fn derive_wire_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    wire_enum(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The struct- or enum-level `#[dto(...)]` options.
#[derive(Default)]
struct TypeOptions {
    name: Option<String>,
    namespace: Option<String>,
    xml_namespace: Option<String>,
    description: Option<String>,
    table: Option<String>,
    /// Members carry explicit `DataMember(Order)`: DataContract order is declaration order.
    ordered: bool,
}

fn type_options(attrs: &[syn::Attribute]) -> syn::Result<TypeOptions> {
    let mut o = TypeOptions::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("dto")) {
        attr.parse_nested_meta(|meta| {
            let string = |meta: &syn::meta::ParseNestedMeta| -> syn::Result<String> {
                Ok(meta.value()?.parse::<LitStr>()?.value())
            };
            if meta.path.is_ident("name") {
                o.name = Some(string(&meta)?);
            } else if meta.path.is_ident("namespace") {
                o.namespace = Some(string(&meta)?);
            } else if meta.path.is_ident("xml_namespace") {
                o.xml_namespace = Some(string(&meta)?);
            } else if meta.path.is_ident("description") {
                o.description = Some(string(&meta)?);
            } else if meta.path.is_ident("table") {
                o.table = Some(string(&meta)?);
            } else if meta.path.is_ident("ordered") {
                o.ordered = true;
            } else {
                return Err(meta.error("unknown dto option"));
            }
            Ok(())
        })?;
    }
    Ok(o)
}

/// A field's `#[dto(...)]` options.
#[derive(Default)]
struct FieldOptions {
    base: bool,
    name: Option<String>,
    description: Option<String>,
    required: bool,
    patch: bool,
    max_bytes: Option<usize>,
    max_chars: Option<usize>,
}

fn field_options(attrs: &[syn::Attribute]) -> syn::Result<FieldOptions> {
    let mut o = FieldOptions::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("dto")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("base") {
                o.base = true;
            } else if meta.path.is_ident("required") {
                o.required = true;
            } else if meta.path.is_ident("patch") {
                o.patch = true;
            } else if meta.path.is_ident("name") {
                o.name = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("description") {
                o.description = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("max_bytes") {
                o.max_bytes = Some(meta.value()?.parse::<syn::LitInt>()?.base10_parse()?);
            } else if meta.path.is_ident("max_chars") {
                o.max_chars = Some(meta.value()?.parse::<syn::LitInt>()?.base10_parse()?);
            } else {
                return Err(meta.error("unknown dto field option"));
            }
            Ok(())
        })?;
    }
    Ok(o)
}

/// `most_recent_participant_call_sid` → `MostRecentParticipantCallSid` (the .NET property).
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// ServiceStack.Text's camelCase of a .NET name: the first letter lowered.
fn camel(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

fn opt_str(v: &Option<String>) -> Tokens {
    match v {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

fn opt_usize(v: Option<usize>) -> Tokens {
    match v {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    }
}

fn xml_namespace(o: &TypeOptions, span: proc_macro2::Span) -> syn::Result<(String, String)> {
    let ns = o
        .namespace
        .clone()
        .ok_or_else(|| syn::Error::new(span, "#[dto(namespace = \"...\")] is required"))?;
    let xml = o
        .xml_namespace
        .clone()
        .unwrap_or_else(|| format!("http://schemas.datacontract.org/2004/07/{ns}"));
    Ok((ns, xml))
}

fn dto(input: DeriveInput) -> syn::Result<Tokens> {
    let ident = &input.ident;
    let options = type_options(&input.attrs)?;
    let (namespace, xml_ns) = xml_namespace(&options, input.span())?;
    let name = options.name.clone().unwrap_or_else(|| ident.to_string());
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(input.span(), "Dto is derived for structs"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new(input.span(), "Dto needs named fields"));
    };

    let mut base: Option<(Ident, syn::Type)> = None;
    let mut members = Vec::new();
    let mut idents = Vec::new();
    let mut names = Vec::new();
    for (i, field) in fields.named.iter().enumerate() {
        let fo = field_options(&field.attrs)?;
        let fident = field.ident.clone().expect("named field");
        let ty = &field.ty;
        if fo.base {
            if i != 0 {
                return Err(syn::Error::new(
                    field.span(),
                    "the base must be the first field",
                ));
            }
            base = Some((fident, ty.clone()));
            continue;
        }
        let field_name = fident.to_string();
        let dotnet = fo.name.clone().unwrap_or_else(|| pascal(&field_name));
        let json = camel(&dotnet);
        let description = opt_str(&fo.description);
        let (required, patch) = (fo.required, fo.patch);
        let (max_bytes, max_chars) = (opt_usize(fo.max_bytes), opt_usize(fo.max_chars));
        members.push(quote! {
            crate::contract::Member {
                name: #dotnet,
                json: #json,
                field: #field_name,
                ty: <#ty as crate::contract::Wire>::TYPE,
                nullable: <#ty as crate::contract::Wire>::NULLABLE,
                description: #description,
                rules: crate::contract::Rules {
                    required: #required,
                    patch: #patch,
                    max_bytes: #max_bytes,
                    max_chars: #max_chars,
                },
            }
        });
        idents.push(fident);
        names.push(dotnet);
    }

    // DataContractSerializer's order: with explicit `Order`, as declared; otherwise ordinal
    // (byte-wise) by name. The base type's members come first; the writer handles that.
    let mut order: Vec<usize> = (0..names.len()).collect();
    if !options.ordered {
        order.sort_by(|a, b| names[*a].as_bytes().cmp(names[*b].as_bytes()));
    }

    let description = opt_str(&options.description);
    let table = opt_str(&options.table);
    let (base_type, push_base, take_base) = match &base {
        Some((b, ty)) => (
            quote!(::core::option::Option::Some(<#ty as crate::contract::Dto>::TYPE)),
            quote!(crate::contract::Dto::push_values(&self.#b, out);),
            quote!(#b: <#ty as crate::contract::Dto>::take_values(values)?,),
        ),
        None => (quote!(::core::option::Option::None), quote!(), quote!()),
    };
    let member_names = names.iter();
    Ok(quote! {
        impl crate::contract::Dto for #ident {
            const TYPE: &'static crate::contract::TypeDef = &crate::contract::TypeDef {
                name: #name,
                namespace: #namespace,
                xml_namespace: #xml_ns,
                base: #base_type,
                members: &[#(#members),*],
                xml_order: &[#(#order),*],
                description: #description,
                table: #table,
            };

            fn push_values<'a>(&'a self, out: &mut ::std::vec::Vec<crate::contract::Value<'a>>) {
                #push_base
                #(out.push(crate::contract::Wire::to_value(&self.#idents));)*
            }

            fn take_values<'a>(
                values: &mut dyn ::core::iter::Iterator<Item = crate::contract::Value<'a>>,
            ) -> ::core::result::Result<Self, crate::contract::ValueError> {
                ::core::result::Result::Ok(Self {
                    #take_base
                    #(#idents: crate::contract::value::take_next(values, #member_names)?,)*
                })
            }
        }

        impl crate::contract::Wire for #ident {
            const TYPE: crate::contract::WireType =
                crate::contract::WireType::Object(<Self as crate::contract::Dto>::TYPE);

            fn to_value(&self) -> crate::contract::Value<'_> {
                crate::contract::Value::Object(crate::contract::Dto::values(self))
            }

            fn from_value(
                value: crate::contract::Value<'_>,
            ) -> ::core::result::Result<Self, crate::contract::ValueError> {
                crate::contract::value::object_from_value(value)
            }
        }
    })
}

fn wire_enum(input: DeriveInput) -> syn::Result<Tokens> {
    let ident = &input.ident;
    let options = type_options(&input.attrs)?;
    let (namespace, _) = xml_namespace(&options, input.span())?;
    let name = ident.to_string();
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(
            input.span(),
            "WireEnum is derived for enums",
        ));
    };
    let mut variants = Vec::new();
    let mut labels = Vec::new();
    let mut numbers = Vec::new();
    for v in &data.variants {
        let number = match &v.discriminant {
            Some((
                _,
                Expr::Lit(ExprLit {
                    lit: Lit::Int(n), ..
                }),
            )) => n.base10_parse::<i64>()?,
            _ => {
                return Err(syn::Error::new(
                    v.span(),
                    "every variant needs its .NET integer value (`Name = 0`)",
                ));
            }
        };
        variants.push(v.ident.clone());
        labels.push(v.ident.to_string());
        numbers.push(number);
    }
    let first = variants
        .first()
        .ok_or_else(|| syn::Error::new(input.span(), "an enum needs a variant"))?;
    Ok(quote! {
        impl #ident {
            /// Every variant, in declaration (integer) order.
            pub const ALL: &'static [#ident] = &[#(#ident::#variants),*];

            /// The canonical wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { #(#ident::#variants => #labels),* }
            }

            /// A name in any case, or the integer value (ServiceStack accepts both).
            pub fn parse(s: &str) -> ::core::option::Option<Self> {
                <Self as crate::contract::WireEnum>::DEF.position(s).map(|i| Self::ALL[i])
            }
        }

        impl crate::contract::WireEnum for #ident {
            const DEF: &'static crate::contract::EnumDef = &crate::contract::EnumDef {
                name: #name,
                namespace: #namespace,
                values: &[#((#labels, #numbers)),*],
            };
        }

        impl ::core::default::Default for #ident {
            fn default() -> Self {
                #ident::#first
            }
        }

        impl ::core::fmt::Display for #ident {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl crate::contract::Wire for #ident {
            const TYPE: crate::contract::WireType =
                crate::contract::WireType::Enum(<Self as crate::contract::WireEnum>::DEF);

            fn to_value(&self) -> crate::contract::Value<'_> {
                crate::contract::Value::Text(::std::borrow::Cow::Borrowed(self.as_str()))
            }

            fn from_value(
                value: crate::contract::Value<'_>,
            ) -> ::core::result::Result<Self, crate::contract::ValueError> {
                crate::contract::value::enum_from_value(value, <Self as crate::contract::WireEnum>::DEF)
                    .map(|i| Self::ALL[i])
            }
        }
    })
}
