//! The shape of a contract: what `#[derive(Dto)]` and `#[derive(WireEnum)]` describe, and the
//! orders and names every format computes from it.

/// A DTO: a .NET class as ServiceStack reflects over it.
#[derive(Debug)]
pub struct TypeDef {
    /// The .NET class name (`SessionInfo`): XML root and item element, metadata, generators.
    pub name: &'static str,
    /// The CLR namespace (`Voice.Api.Sessions`).
    pub namespace: &'static str,
    /// The DataContract namespace: `http://schemas.datacontract.org/2004/07/` + the CLR
    /// namespace, unless the type says otherwise (ServiceStack's own types).
    pub xml_namespace: &'static str,
    /// The base class (`EntityInfo` for `SessionInfo`); its members come first everywhere.
    pub base: Option<&'static TypeDef>,
    /// The type's own members, in declaration order (ServiceStack's JSON order).
    pub members: &'static [Member],
    /// The own members in DataContract order, as indices into `members`: ordinal by name, or as
    /// declared when the .NET type gives explicit `DataMember(Order)`.
    pub xml_order: &'static [usize],
    /// `[Api]`/`[Description]` text, where the original has one.
    pub description: Option<&'static str>,
    /// The PostgreSQL table that stores this type: one column per member, base members
    /// included, each named as the member's field.
    pub table: Option<&'static str>,
}

/// One property of a DTO.
#[derive(Debug)]
pub struct Member {
    /// The .NET property name (a field `call_back_at` gives `CallBackAt`): XML element, metadata.
    pub name: &'static str,
    /// The JSON, form and query key (ServiceStack's camelCase: `callBackAt`).
    pub json: &'static str,
    /// The Rust field, which is also the storage column when the type is stored
    /// (`call_back_at`).
    pub field: &'static str,
    pub ty: WireType,
    /// Absent is allowed (`Option` in Rust, a reference type or `T?` in .NET). Non-nullable
    /// members are always written, nullable ones are omitted from JSON when null.
    pub nullable: bool,
    /// The seed's `@ApiMember(Description=...)`.
    pub description: Option<&'static str>,
    pub rules: Rules,
}

/// What binding checks on a request member, and what the operation does with it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// Must be present and not blank (`NotEmpty`).
    pub required: bool,
    /// A sparse-update member: when present it sets the stored member of the same name.
    pub patch: bool,
    /// Longest value in UTF-8 bytes (`InvalidLength`).
    pub max_bytes: Option<usize>,
    /// Longest value in characters (`InvalidLength`).
    pub max_chars: Option<usize>,
}

/// The wire type of a member, as every format needs to know it.
#[derive(Debug)]
pub enum WireType {
    /// `string` (also what dates travel as here).
    Text,
    Bool,
    /// `int`: a JSON number, text elsewhere; held as its decimal text in a [`Value::Text`].
    ///
    /// [`Value::Text`]: crate::contract::Value::Text
    Int,
    Enum(&'static EnumDef),
    /// `List<T>` / `T[]`.
    List(&'static WireType),
    /// `Dictionary<string,string>`.
    StringMap,
    /// A nested DTO.
    Object(&'static TypeDef),
}

impl WireType {
    /// Whether a value of this type is one piece of text (string, bool, int, enum), not a
    /// composite (list, map, object).
    pub fn is_scalar(&self) -> bool {
        matches!(
            self,
            WireType::Text | WireType::Bool | WireType::Int | WireType::Enum(_)
        )
    }
}

/// A .NET enum: names (the wire spelling) and integer values, in declaration order.
#[derive(Debug)]
pub struct EnumDef {
    pub name: &'static str,
    pub namespace: &'static str,
    pub values: &'static [(&'static str, i64)],
}

impl EnumDef {
    /// The variant a client's spelling names: the name in any case, or the integer value.
    pub fn position(&self, s: &str) -> Option<usize> {
        let s = s.trim();
        let number: Option<i64> = s.parse().ok();
        self.values
            .iter()
            .position(|(name, n)| name.eq_ignore_ascii_case(s) || number == Some(*n))
    }

    /// "A, B, C": the allowed names, for error messages.
    pub fn allowed(&self) -> String {
        let names: Vec<&str> = self.values.iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }
}

/// A class that is a `Dictionary<string, T>` and nothing else (`NodeParameterMap`): described
/// for the metadata and the generated client code, never carried by an operation.
#[derive(Debug)]
pub struct DictionaryDef {
    pub name: &'static str,
    pub namespace: &'static str,
    /// The dictionary's value type (keys are strings).
    pub value: &'static TypeDef,
}

/// A member together with the type that declares it (base members belong to the base type,
/// and DataContract XML puts them in its namespace).
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    /// Position in the type's values: base members first, then own, in declaration order.
    pub index: usize,
    pub member: &'static Member,
    pub owner: &'static TypeDef,
}

impl TypeDef {
    /// How many values an object of this type has (base members included).
    pub fn len(&self) -> usize {
        self.base.map_or(0, TypeDef::len) + self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every member, base type first, in declaration order: ServiceStack's JSON order, and the
    /// order of a [`crate::contract::Value::Object`]'s values.
    pub fn slots(&'static self) -> Vec<Slot> {
        let mut out = match self.base {
            Some(base) => base.slots(),
            None => Vec::with_capacity(self.members.len()),
        };
        let first = out.len();
        out.extend(self.members.iter().enumerate().map(|(i, member)| Slot {
            index: first + i,
            member,
            owner: self,
        }));
        out
    }

    /// DataContractSerializer's order: the base type's members first (in its own DataContract
    /// order), then this type's, ordinal by name unless the type orders them explicitly.
    pub fn xml_slots(&'static self) -> Vec<Slot> {
        let mut out = match self.base {
            Some(base) => base.xml_slots(),
            None => Vec::with_capacity(self.members.len()),
        };
        let first = self.base.map_or(0, TypeDef::len);
        out.extend(self.xml_order.iter().map(|&i| Slot {
            index: first + i,
            member: &self.members[i],
            owner: self,
        }));
        out
    }

    /// Calls `f` for every member in [`TypeDef::slots`] order, without allocating (hot paths).
    pub fn try_for_each_slot<E>(
        &'static self,
        f: &mut impl FnMut(Slot) -> Result<(), E>,
    ) -> Result<(), E> {
        let first = match self.base {
            Some(base) => {
                base.try_for_each_slot(f)?;
                base.len()
            }
            None => 0,
        };
        for (i, member) in self.members.iter().enumerate() {
            f(Slot {
                index: first + i,
                member,
                owner: self,
            })?;
        }
        Ok(())
    }

    /// Calls `f` for every member in [`TypeDef::xml_slots`] order, without allocating.
    pub fn try_for_each_xml_slot<E>(
        &'static self,
        f: &mut impl FnMut(Slot) -> Result<(), E>,
    ) -> Result<(), E> {
        let first = match self.base {
            Some(base) => {
                base.try_for_each_xml_slot(f)?;
                base.len()
            }
            None => 0,
        };
        for &i in self.xml_order {
            f(Slot {
                index: first + i,
                member: &self.members[i],
                owner: self,
            })?;
        }
        Ok(())
    }

    /// The member a JSON, form or query key names (case-insensitively, as ServiceStack binds).
    pub fn slot_by_key(&'static self, key: &str) -> Option<Slot> {
        self.find_slot(|m| m.json.eq_ignore_ascii_case(key))
    }

    /// The first member (in [`TypeDef::slots`] order) that `matches`, without allocating.
    pub fn find_slot(&'static self, matches: impl Fn(&Member) -> bool) -> Option<Slot> {
        let found = self.try_for_each_slot(&mut |slot| {
            if matches(slot.member) {
                Err(slot)
            } else {
                Ok(())
            }
        });
        found.err()
    }

    /// The member a Rust field names (exact): how code outside the contract refers to a member
    /// without spelling its wire name.
    pub fn slot_by_field(&'static self, field: &str) -> Option<Slot> {
        self.find_slot(|m| m.field == field)
    }

    /// The JSON name of the member a Rust field names (for messages); "" when there is none.
    pub fn json_name(&'static self, field: &str) -> &'static str {
        self.slot_by_field(field).map_or("", |s| s.member.json)
    }
}
