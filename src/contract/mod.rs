//! The contract: one description of every DTO, enum and operation of the API, which every
//! format, the binder, the SQL, the routes and negotiation read. ServiceStack works this way
//! (reflection over the DTO types drives JSON, XML, binding, `/metadata` and `/types`); here
//! `#[derive(Dto)]` and `#[derive(WireEnum)]` (the `voice-api-derive` crate) generate the
//! description from the Rust types themselves.
//!
//! Why a derive and not static tables: the struct *is* the description, so a member added to a
//! DTO is in the contract by construction (no second list to keep in step, nothing for an
//! exhaustiveness guard to catch), and its name is spelled once, as the Rust field. The derive
//! computes the .NET name (a field `call_back_at` gives `CallBackAt`), the JSON key
//! (`callBackAt`), the storage column (the field itself) and the
//! DataContract member order at compile time.
//!
//! - [`model`]: [`TypeDef`], [`Member`], [`WireType`], [`EnumDef`] and the orders computed
//!   from them;
//! - [`value`]: [`Value`], the format-neutral data every reader produces and every writer
//!   consumes, and the [`Dto`]/[`Wire`] conversions to and from typed structs;
//! - [`sessions`], [`servicestack`], [`auth`], [`events`]: the DTOs;
//! - [`flows`]: types the metadata describes that no operation carries;
//! - [`operations`]: the operations and their routes.

pub mod auth;
pub mod events;
pub mod flows;
pub mod lists;
pub mod model;
pub mod operations;
pub mod servicestack;
pub mod sessions;
pub mod value;

pub use model::{DictionaryDef, EnumDef, Member, Rules, Slot, TypeDef, WireType};
pub use value::{Dto, StringMap, Value, ValueError, Wire, WireEnum};
